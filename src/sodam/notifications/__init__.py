"""Agent notifications: per-agent settings, @mentions in private notes (docs/notifications.md)."""
