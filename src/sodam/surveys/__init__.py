"""Surveys: CSAT / NPS / CES and custom surveys to customers, their escalation, and anonymous
employee feedback (docs/surveys.md)."""
