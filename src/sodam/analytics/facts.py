"""What one conversation (or one survey answer with no conversation) adds to the reports.

`summarise` builds a temporary table `_rc` with one row per conversation of the batch (its
times, dimensions, bot outcome, sentiment) straight from the event log, the conversation,
its bot record and its customer messages; `business_seconds` fills the business-hours
durations for inboxes that have hours; `fact_rows_sql` turns `_rc` and the survey answers
into rows of (hour, dimensions, counters) — the same for the incremental job and the full
rebuild, so the two cannot disagree.

Attribution (see docs/metrics.md): volume, sentiment and the unanswered count at the hour
the conversation (or its human clock) started, with the current assignee; the first
response at its hour, to the agent who sent it; the resolution at the first resolution's
hour, to the current assignee; the bot's outcome at the outcome's hour; a survey answer at
the hour it was given, to the conversation's assignee.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from sodam.hours import calendar

# One row per conversation. {conv} filters `conversations c`, {events} filters
# `conversation_events e`; both are bound by the caller (ids of a batch, or an id range).
SUMMARY_SQL = """
CREATE TEMP TABLE _rc ON COMMIT DROP AS
WITH conv AS (
    SELECT c.id, c.workspace_id, c.inbox_id, c.contact_id, i.channel_type::text AS channel,
           coalesce(c.team_id, 0) AS team_id, coalesce(c.assignee_id, 0) AS assignee_id,
           coalesce(c.language, '') AS language, c.created_at
      FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
     WHERE {conv}
), ev AS (
    SELECT e.conversation_id,
           min(e.created_at) FILTER (WHERE e.type = 'message.created' AND e.actor_type = 'contact')
               AS first_customer_at,
           min(e.created_at) FILTER (WHERE e.type = 'bot.handed_off') AS handoff_at,
           bool_or(e.type = 'message.created' AND e.actor_type = 'agent'
                   AND coalesce(e.data->>'kind', 'text') NOT IN ('note', 'system')) AS agent_spoke,
           min(e.created_at) FILTER (WHERE e.type = 'status.changed' AND e.data->>'to' = 'resolved')
               AS resolved_at,
           bool_or(e.type = 'status.changed' AND e.data->>'from' = 'resolved'
                   AND e.data->>'to' <> 'resolved') AS reopened
      FROM conversation_events e
     WHERE {events}
     GROUP BY e.conversation_id
), s AS (
    SELECT conv.*, ev.first_customer_at, ev.handoff_at, coalesce(ev.agent_spoke, false) AS agent_spoke,
           ev.resolved_at, coalesce(ev.reopened, false) AS reopened,
           b.id IS NOT NULL AS bot_part, b.outcome::text AS bot_outcome, b.outcome_at AS bot_outcome_at,
           -- The human clock: from the bot's handoff; without the bot from the first customer
           -- message; a bot conversation an agent answered without a handoff from its first
           -- customer message too. A bot conversation no person touched has no human clock.
           CASE WHEN ev.handoff_at IS NOT NULL THEN ev.handoff_at
                WHEN b.id IS NULL OR coalesce(ev.agent_spoke, false) THEN ev.first_customer_at
           END AS clock_start
      FROM conv
      LEFT JOIN ev ON ev.conversation_id = conv.id
      LEFT JOIN bot_conversations b ON b.conversation_id = conv.id
)
SELECT s.*, fr.created_at AS first_response_at, coalesce(fr.actor_id, 0) AS responder_id,
       coalesce(sm.scored, false) AS scored, coalesce(sm.negative, false) AS negative,
       NULL::bigint AS frt_business_ms, NULL::bigint AS resolution_business_ms
  FROM s
  LEFT JOIN LATERAL (
        SELECT e.created_at, e.actor_id FROM conversation_events e
         WHERE e.conversation_id = s.id AND e.type = 'message.created' AND e.actor_type = 'agent'
           AND coalesce(e.data->>'kind', 'text') NOT IN ('note', 'system') AND e.created_at >= s.clock_start
         ORDER BY e.id LIMIT 1) fr ON s.clock_start IS NOT NULL
  LEFT JOIN LATERAL (
        SELECT bool_or(m.sentiment_label IS NOT NULL) AS scored, bool_or(m.sentiment_label = 'negative') AS negative
          FROM messages m WHERE m.conversation_id = s.id AND m.sender_type = 'contact') sm ON true
"""

_MS = "(extract(epoch FROM ({a}) - ({b})) * 1000)::bigint"
_ZERO = (
    "0 AS conversations, 0 AS bot_conversations, 0 AS bot_decided, 0 AS bot_confirmed, 0 AS bot_assumed,"
    " 0 AS bot_contained, 0 AS handoffs, 0 AS frt_count, 0 AS unanswered, 0 AS resolved, 0 AS fcr,"
    " 0 AS reopened, 0 AS scored, 0 AS negative, 0 AS csat_n, 0 AS csat_pos, 0 AS nps_n,"
    " 0 AS nps_promoters, 0 AS nps_passives, 0 AS nps_detractors, 0 AS ces_n, 0 AS ces_sum,"
    " 0::bigint AS frt_sum_ms, 0::bigint AS frt_business_sum_ms, 0::bigint AS resolution_sum_ms,"
    " 0::bigint AS resolution_business_sum_ms"
)


def _row(values: dict[str, str]) -> str:
    """A SELECT list of every counter, the given ones set and the rest 0."""
    parts = []
    for item in _ZERO.split(","):
        expr, _, name = item.strip().rpartition(" AS ")
        parts.append(f"{values.get(name, expr)} AS {name}")
    return ", ".join(parts)


def _answer_values() -> dict[str, str]:
    return {
        "csat_n": "(a.kind = 'csat' AND a.score BETWEEN 1 AND 5)::int",
        "csat_pos": "(a.kind = 'csat' AND a.score BETWEEN 4 AND 5)::int",
        "nps_n": "(a.kind = 'nps' AND a.score BETWEEN 0 AND 10)::int",
        "nps_promoters": "(a.kind = 'nps' AND a.score BETWEEN 9 AND 10)::int",
        "nps_passives": "(a.kind = 'nps' AND a.score BETWEEN 7 AND 8)::int",
        "nps_detractors": "(a.kind = 'nps' AND a.score BETWEEN 0 AND 6)::int",
        "ces_n": "(a.kind = 'ces' AND a.score IS NOT NULL)::int",
        "ces_sum": "CASE WHEN a.kind = 'ces' THEN coalesce(a.score, 0) ELSE 0 END",
    }


DIMS = "inbox_id, channel, team_id, agent_id, language"


def fact_rows_sql() -> str:
    """Every fact row of the conversations in `_rc` (and their survey answers): a SELECT of
    workspace_id, conversation_id, answer_id, contact_id, hour, the dimensions and the counters."""
    d = "r.inbox_id, r.channel, r.team_id"
    h = "date_trunc('hour', {t})"
    parts = [
        # Volume, the bot's share, sentiment: at creation, to the current assignee.
        f"SELECT r.workspace_id, r.id, NULL::bigint, r.contact_id, {h.format(t='r.created_at')}, {d}, r.assignee_id, r.language, "
        + _row(
            {
                "conversations": "1",
                "bot_conversations": "r.bot_part::int",
                "scored": "r.scored::int",
                "negative": "r.negative::int",
            }
        )
        + " FROM _rc r",
        # The bot's outcome at its hour.
        f"SELECT r.workspace_id, r.id, NULL::bigint, r.contact_id, {h.format(t='r.bot_outcome_at')}, {d}, r.assignee_id, "
        "r.language, "
        + _row(
            {
                "bot_decided": "1",
                "bot_confirmed": "(r.bot_outcome = 'confirmed')::int",
                "bot_assumed": "(r.bot_outcome = 'assumed')::int",
                "bot_contained": "(r.bot_outcome IN ('confirmed', 'assumed') AND NOT r.agent_spoke)::int",
                "handoffs": "(r.bot_outcome = 'handed_off')::int",
            }
        )
        + " FROM _rc r WHERE r.bot_outcome IS NOT NULL AND r.bot_outcome_at IS NOT NULL",
        # The first response at its hour, to the agent who sent it.
        f"SELECT r.workspace_id, r.id, NULL::bigint, r.contact_id, {h.format(t='r.first_response_at')}, {d}, r.responder_id, "
        "r.language, "
        + _row(
            {
                "frt_count": "1",
                "frt_sum_ms": _MS.format(a="r.first_response_at", b="r.clock_start"),
                "frt_business_sum_ms": "coalesce(r.frt_business_ms, "
                + _MS.format(a="r.first_response_at", b="r.clock_start")
                + ")",
            }
        )
        + " FROM _rc r WHERE r.first_response_at IS NOT NULL",
        # Waiting for a person, nobody answered yet: at the clock's start.
        f"SELECT r.workspace_id, r.id, NULL::bigint, r.contact_id, {h.format(t='r.clock_start')}, {d}, r.assignee_id, "
        "r.language, "
        + _row({"unanswered": "1"})
        + " FROM _rc r WHERE r.clock_start IS NOT NULL AND r.first_response_at IS NULL",
        # The first resolution at its hour, to the current assignee.
        f"SELECT r.workspace_id, r.id, NULL::bigint, r.contact_id, {h.format(t='r.resolved_at')}, {d}, r.assignee_id, "
        "r.language, "
        + _row(
            {
                "resolved": "1",
                "fcr": "(NOT r.reopened)::int",
                "reopened": "r.reopened::int",
                "resolution_sum_ms": _MS.format(a="r.resolved_at", b="r.created_at"),
                "resolution_business_sum_ms": "coalesce(r.resolution_business_ms, "
                + _MS.format(a="r.resolved_at", b="r.created_at")
                + ")",
            }
        )
        + " FROM _rc r WHERE r.resolved_at IS NOT NULL",
        # The conversation's survey answers, at the hour each was given.
        f"SELECT r.workspace_id, r.id, NULL::bigint, r.contact_id, {h.format(t='a.created_at')}, {d}, r.assignee_id, "
        "r.language, "
        + _row(_answer_values())
        + " FROM _rc r JOIN survey_answers a ON a.conversation_id = r.id AND a.workspace_id = r.workspace_id"
        " WHERE a.kind IN ('csat', 'nps', 'ces')",
    ]
    return "\nUNION ALL\n".join(parts)


# Survey answers given outside a conversation (a link, a scheduled NPS): the workspace and the
# recipient's language only. {answers} filters `survey_answers a`.
LOOSE_ANSWERS_SQL = (
    "SELECT a.workspace_id, NULL::bigint, a.id, a.contact_id, date_trunc('hour', a.created_at), 0::bigint, ''::text, "
    "0::bigint, 0::bigint, coalesce(rc.language, '')::text, "
    + _row(_answer_values())
    + " FROM survey_answers a LEFT JOIN survey_recipients rc ON rc.id = a.recipient_id"
    " WHERE a.conversation_id IS NULL AND a.kind IN ('csat', 'nps', 'ces') AND {answers}"
)


async def business_seconds(cur: psycopg.AsyncCursor) -> int:
    """Fill `_rc`'s business-hours durations for conversations in inboxes that have hours
    (the others keep calendar time); returns how many rows were computed. Python, because the
    hours arithmetic (holidays, DST) lives in hours/calendar.py; only these rows pay for it."""
    await cur.execute(
        "SELECT r.id, i.settings->'business_hours', r.clock_start, r.first_response_at, r.created_at, r.resolved_at"
        "  FROM _rc r JOIN inboxes i ON i.id = r.inbox_id"
        " WHERE jsonb_typeof(i.settings->'business_hours') = 'object'"
        "   AND (r.first_response_at IS NOT NULL OR r.resolved_at IS NOT NULL)"
    )
    rows = await cur.fetchall()
    if not rows:
        return 0
    ids, frt, res = [], [], []
    for conv_id, config, start, first, created, resolved in rows:
        ids.append(conv_id)
        frt.append(_business_ms(config, start, first))
        res.append(_business_ms(config, created, resolved))
    await cur.execute(
        "UPDATE _rc SET frt_business_ms = u.frt, resolution_business_ms = u.res"
        "  FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS u(id, frt, res) WHERE _rc.id = u.id",
        (ids, frt, res),
    )
    return len(rows)


def _business_ms(config: dict[str, Any], start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int(round(calendar.business_seconds_between(config, start, end) * 1000))
