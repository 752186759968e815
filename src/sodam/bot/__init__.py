"""The bot: answers from the knowledge base, hands off to humans (issue 3)."""
