"""Search of conversations: messages and private notes, Korean by morphemes (docs/search.md)."""
