"""Who may do what: accounts, sign-in and device tokens, password policy, the audit trail and
the privacy rules (masking, retention). Imports only `common`.
"""
