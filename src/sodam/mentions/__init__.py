"""Social mentions: posts about the company on public platforms, taken in through an API
inbox (not conversations), scored for sentiment, alerted on when negative ones pile up, and
turned into a conversation when a person should answer."""
