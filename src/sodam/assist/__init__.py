"""Agent assist: suggestions beside the reply box (articles, past replies, a canned reply, an
empathy prompt, a promised-time reminder) and how often agents use them (docs/assist.md)."""
