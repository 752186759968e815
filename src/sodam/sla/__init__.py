"""SLA policies: response and resolution targets, due times on the conversation, and what
happens on a breach (docs/sla.md)."""
