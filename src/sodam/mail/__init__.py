"""The e-mail channel: inbound through a built-in SMTP listener, outbound through the inbox's relay.

Named `mail`, not `email`, so the standard library's `email` package stays importable.
"""
