"""The screen pop: everything an agent should know about a contact, in one statement.

Name and company (the company record's name and plan, `contacts.company_id`); tier/segment and account value (contact attributes for now: `tier` or
`segment` or `plan`, and `account_value`); customer since (tenure) and lifetime
conversations; the last CSAT / NPS / CES answers; the sentiment of the last interaction (the
mean of the stored per-message scores of the conversation with the customer's newest scored
message, its last five messages weighing as much as all of it — kept by the database, see
migration 0023, and shared with segments); open conversations; past conversations on every
channel; the page they are on now; the churn risk (the nightly model's score, analytics/
churnrisk.py, with the three reasons pushing it up most).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.core.errors import NotFound

RECENT = 10
TIER_KEYS = ("tier", "segment", "plan")
VALUE_KEYS = ("account_value", "ltv", "lifetime_value")
NEGATIVE, POSITIVE = -0.2, 0.2  # the labels' bands (as sodam.nlp.sentiment)

# One round trip. Every part is an index lookup on the contact (conversations by
# ix_conversations_contact_inbox, answers by ix_survey_answers_contact, pages by
# ix_visitor_pages_contact). The sentiment is the contact's row of contact_sentiments
# (migration 0023: each conversation's score kept by a trigger as its messages are scored, and
# per contact the conversation with the newest scored message), which segments filter on too.
SCREEN_POP_SQL = text(
    """
    WITH contact AS (
        SELECT c.id, c.name, c.email, c.phone, coalesce(co.name, c.company) AS company, co.id AS company_id,
               co.plan AS company_plan, co.domain AS company_domain, c.language, c.custom_attributes, c.created_at
          FROM contacts c LEFT JOIN companies co ON co.id = c.company_id AND co.workspace_id = c.workspace_id
         WHERE c.workspace_id = :ws AND c.id = :contact
    ), convs AS (
        SELECT c.id, c.inbox_id, c.status::text AS status, c.priority::text AS priority, c.created_at,
               coalesce(c.last_message_at, c.created_at) AS last_at, c.last_message_preview, c.last_seq,
               i.name AS inbox_name, i.channel_type::text AS channel_type
          FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
         WHERE c.workspace_id = :ws AND c.contact_id = :contact
    ), totals AS (
        SELECT count(*) AS lifetime, min(created_at) AS first_at,
               count(*) FILTER (WHERE status <> 'resolved') AS open_count
          FROM convs
    )
    SELECT (SELECT row_to_json(contact) FROM contact) AS contact,
           (SELECT row_to_json(totals) FROM totals) AS totals,
           (SELECT coalesce(json_agg(r ORDER BY r.last_at DESC, r.id DESC), '[]')
              FROM (SELECT * FROM convs ORDER BY last_at DESC, id DESC LIMIT :recent) r) AS recent,
           (SELECT coalesce(json_agg(o ORDER BY o.last_at DESC), '[]')
              FROM (SELECT * FROM convs WHERE status <> 'resolved' ORDER BY last_at DESC LIMIT :recent) o) AS open,
           (SELECT json_build_object('conversation_id', conversation_id, 'score', score,
                                     'messages', messages, 'at', at)
              FROM contact_sentiments WHERE workspace_id = :ws AND contact_id = :contact) AS sentiment,
           (SELECT coalesce(json_agg(s), '[]') FROM (
                SELECT DISTINCT ON (kind) kind, score, comment, created_at AS at, survey_id, conversation_id
                  FROM survey_answers
                 WHERE workspace_id = :ws AND contact_id = :contact AND kind IN ('csat', 'nps', 'ces')
                 ORDER BY kind, created_at DESC) s) AS surveys,
           (SELECT json_build_object('risk', risk, 'features', features, 'scored_at', scored_at)
              FROM churn_scores WHERE workspace_id = :ws AND contact_id = :contact) AS churn_risk,
           (SELECT row_to_json(p) FROM (
                SELECT url, title, created_at AS at, browser, os, device FROM visitor_pages
                 WHERE workspace_id = :ws AND contact_id = :contact ORDER BY id DESC LIMIT 1) p) AS page
    """
)


def _label(score: float | None) -> str | None:
    if score is None:
        return None
    return "negative" if score <= NEGATIVE else "positive" if score >= POSITIVE else "neutral"


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if attrs.get(key) not in (None, ""):
            return attrs[key]
    return None


def _amount(value: Any) -> Any:
    """A typed money attribute ({"amount", "currency"}) as its amount; anything else as stored."""
    return value.get("amount") if isinstance(value, dict) else value


def _currency(value: Any) -> str | None:
    return value.get("currency") if isinstance(value, dict) else None


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _conversation(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "inbox_id": row["inbox_id"],
        "inbox_name": row["inbox_name"],
        "channel_type": row["channel_type"],
        "status": row["status"],
        "priority": row["priority"],
        "messages": row["last_seq"],
        "last_message_preview": row["last_message_preview"],
        "created_at": _at(row["created_at"]),
        "last_activity_at": _at(row["last_at"]),
    }


async def summary(
    session: AsyncSession, *, workspace_id: int, contact_id: int, now: datetime | None = None
) -> dict:
    """The screen pop of one contact of this workspace (404 otherwise)."""
    row = (
        (await session.execute(SCREEN_POP_SQL, {"ws": workspace_id, "contact": contact_id, "recent": RECENT}))
        .mappings()
        .one()
    )
    contact = row["contact"]
    if contact is None:
        raise NotFound("contact not found")
    attrs = contact["custom_attributes"] or {}
    totals = row["totals"]
    created = _at(contact["created_at"])
    first = _at(totals["first_at"])
    since = min(created, first) if first else created
    now = now or datetime.now(UTC)
    sentiment = row["sentiment"]
    if sentiment is not None:
        score = sentiment["score"]
        sentiment = {
            "score": score,
            "label": _label(score),
            "conversation_id": sentiment["conversation_id"],
            "messages": sentiment["messages"],
            "at": _at(sentiment["at"]),
        }
    page = row["page"]
    risk = row["churn_risk"]
    if risk is not None:
        risk = {
            "score": round(float(risk["risk"]), 3),
            "reasons": [
                {"feature": t["feature"], "direction": t.get("direction", "high")}
                for t in (risk["features"] or {}).get("top", [])
            ],
            "scored_at": _at(risk["scored_at"]),
        }
    return {
        "contact_id": contact["id"],
        "name": contact["name"],
        "email": contact["email"],
        "phone": contact["phone"],
        "company": contact["company"] or attrs.get("company"),
        # The company record (contacts.company_id): its plan, and a link for the console.
        "company_id": contact["company_id"],
        "company_plan": contact["company_plan"],
        "company_domain": contact["company_domain"],
        "language": contact["language"],
        "tier": _first(attrs, TIER_KEYS),
        "account_value": _amount(_first(attrs, VALUE_KEYS)),
        "account_currency": _currency(_first(attrs, VALUE_KEYS)),
        "customer_since": since,
        "tenure_days": max(0, (now - since).days),
        "lifetime_conversations": totals["lifetime"],
        "open_count": totals["open_count"],
        "last_surveys": {
            s["kind"]: {
                "score": s["score"],
                "comment": s["comment"],
                "at": _at(s["at"]),
                "survey_id": s["survey_id"],
                "conversation_id": s["conversation_id"],
            }
            for s in row["surveys"]
        },
        "sentiment": sentiment,
        "open_conversations": [_conversation(c) for c in row["open"]],
        "recent_conversations": [_conversation(c) for c in row["recent"]],
        "current_page": {**page, "at": _at(page["at"])} if page else None,
        "churn_risk": risk,
    }
