"""The tamper-evident audit trail: who did what, to what, when, from where; a hash chain
sealed at commit, append-only in the database, verifiable and anchored daily."""
