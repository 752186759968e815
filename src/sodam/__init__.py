"""Sodam (소담): Korean-first, omnichannel customer engagement."""

__version__ = "0.1.0"
