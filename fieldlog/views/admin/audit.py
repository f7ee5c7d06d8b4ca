"""Search the audit trail."""
