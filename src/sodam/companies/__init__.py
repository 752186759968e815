"""Companies: organisations contacts belong to (name, domain, plan, typed attributes)."""
