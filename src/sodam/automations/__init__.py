"""Automations: rules on domain events ("when EVENT and CONDITIONS then STEPS"), multi-step
journeys with waits, the five seed journeys as templates, and custom events posted by the
company's systems (docs/automations.md)."""
