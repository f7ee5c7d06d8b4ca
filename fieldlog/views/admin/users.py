"""Users: list, reset a password (forces a change at next sign-in), sign out everywhere."""
