"""The contact timeline's `cobrowse` entries (crm.timeline.register_source): asked, agreed or not,
how long, who ended it."""

from __future__ import annotations

from sodam.crm.timeline import register_source

COBROWSE_SOURCE = """
    SELECT 'cobrowse'::text AS kind, s.id, s.created_at AS at,
           jsonb_build_object('session_id', s.id, 'conversation_id', s.conversation_id,
                              'status', s.status, 'started_at', s.started_at, 'ended_at', s.ended_at,
                              'ended_by', s.ended_by, 'end_reason', s.end_reason,
                              'duration_s', CASE WHEN s.started_at IS NOT NULL AND s.ended_at IS NOT NULL
                                  THEN floor(extract(epoch FROM s.ended_at - s.started_at))::int END)
           AS data
      FROM cobrowse_sessions s
     WHERE s.workspace_id = :ws AND s.contact_id = :contact"""


def register() -> None:
    """Idempotent: the API and the console each call it."""
    register_source("cobrowse", COBROWSE_SOURCE)
