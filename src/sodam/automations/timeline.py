"""The contact timeline's `automation` entries: every step a rule took for the contact."""

from __future__ import annotations

from sodam.crm.timeline import register_source

AUTOMATION_SOURCE = """
    SELECT 'automation'::text AS kind, s.id, s.created_at AS at,
           jsonb_build_object('rule_id', s.rule_id, 'rule_name', r.name, 'run_id', s.run_id,
                              'step', s.step, 'action', s.action, 'outcome', s.outcome,
                              'detail', s.detail) AS data
      FROM automation_run_steps s JOIN automation_rules r ON r.id = s.rule_id
     WHERE s.workspace_id = :ws AND s.contact_id = :contact"""


def register() -> None:
    """Idempotent: the API, the console and the job worker may each call it."""
    register_source("automation", AUTOMATION_SOURCE)
