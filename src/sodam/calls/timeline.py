"""The contact timeline's `web_call` entries (crm.timeline.register_source): every browser
call (video or voice) with its outcome and duration, at the time it rang or was booked."""

from __future__ import annotations

from sodam.crm.timeline import register_source

WEB_CALL_SOURCE = """
    SELECT 'web_call'::text AS kind, w.id, COALESCE(w.ringing_at, w.created_at) AS at,
           jsonb_build_object('call_id', w.id, 'kind', w.kind, 'initiator', w.initiator,
                              'status', w.status, 'outcome', w.outcome, 'duration_s', w.duration_s,
                              'scheduled_at', w.scheduled_at, 'started_at', w.started_at,
                              'ended_at', w.ended_at, 'agent_id', w.agent_id,
                              'conversation_id', w.conversation_id, 'inbox_id', w.inbox_id) AS data
      FROM web_calls w
     WHERE w.workspace_id = :ws AND w.contact_id = :contact"""


def register() -> None:
    """Idempotent: the API, the console and the job worker may each call it."""
    register_source("web_call", WEB_CALL_SOURCE)
