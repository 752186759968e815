"""The customer in full: the screen pop (who they are, before the agent says a word) and one
timeline across every channel (docs/crm.md). Read models over contacts, conversations,
messages, survey answers and visits."""
