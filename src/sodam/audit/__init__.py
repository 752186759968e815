"""The audit log: who read or changed what, when and from where (append-only)."""
