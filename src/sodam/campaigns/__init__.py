"""Campaigns (one-off or scheduled messages to a segment, throttled, with their counts) and
incident announcements (one model the widget banner, the bot, auto-replies and the IVR read)."""
