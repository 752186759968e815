"""Segments: saved filters over a workspace's contacts (docs/segments.md)."""
