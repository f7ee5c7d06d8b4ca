"""Everything a secretary records and how it arrives: the sync engine and what differs per
record type, edits as versions, photo uploads and processing, visits, meetings, six-one
actions, the ledger. After a commit it announces what arrived (`records.events`); it never
imports the packages that listen (integrity). Imports `common`, `people`, `org`, `register`,
`attendance`.
"""
