"""The contact timeline's `call` entries (crm.timeline.register_source)."""

from __future__ import annotations

from sodam.crm.timeline import register_source

CALL_SOURCE = """
    SELECT 'call'::text AS kind, c.id, c.started_at AS at,
           jsonb_build_object('call_id', c.id, 'direction', c.direction, 'from', c.from_number,
                              'to', c.to_number, 'outcome', c.outcome, 'status', c.status,
                              'duration_s', c.duration_s, 'ended_at', c.ended_at,
                              'conversation_id', c.conversation_id, 'inbox_id', c.inbox_id) AS data
      FROM calls c
     WHERE c.workspace_id = :ws AND c.contact_id = :contact"""

CALLBACK_SOURCE = """
    SELECT 'callback'::text AS kind, b.id, b.created_at AS at,
           jsonb_build_object('callback_id', b.id, 'phone', b.phone, 'slot_at', b.slot_at,
                              'status', b.status, 'source', b.source,
                              'conversation_id', b.task_conversation_id) AS data
      FROM callbacks b
     WHERE b.workspace_id = :ws AND b.contact_id = :contact"""


def register() -> None:
    """Idempotent: the API, the console and the job worker may each call it."""
    register_source("call", CALL_SOURCE)
    register_source("callback", CALLBACK_SOURCE)
