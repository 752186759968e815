"""A validated filter as one SQLAlchemy condition over `contacts` (no filtering in Python).

Every condition on other tables is a subquery keyed on the contact: `EXISTS` where one row
decides (PostgreSQL turns it into a semi- or anti-join under AND, and into a hashed or an
indexed per-contact probe under OR), `contacts.id IN (…)` where a set is computed once
(conversation counts, the last survey score, the last sentiment). Every subquery filters on
the workspace.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Numeric,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, distinct_on
from sqlalchemy.sql.elements import ColumnElement

from sodam.channels.models import Inbox
from sodam.contacts.models import Contact, VisitorPage
from sodam.conversations.models import Conversation, Status
from sodam.crm.screen_pop import NEGATIVE, POSITIVE
from sodam.segments.filters import Condition, Group
from sodam.surveys.models import SurveyAnswer

# A date without a time means midnight in Korea (the console's time zone).
LOCAL = ZoneInfo("Asia/Seoul")
ISO_DATE = r"^\d{4}-\d{2}-\d{2}"

# Migration 0023's table: each contact's last interaction with a sentiment and its score, kept
# by triggers as messages are scored (the screen pop reads the same row).
contact_sentiments = table(
    "contact_sentiments", column("workspace_id"), column("contact_id"), column("score")
)

# The churn model's scores (migration 0032, analytics/churnrisk.py): one row per scored customer.
churn_scores = table("churn_scores", column("workspace_id"), column("contact_id"), column("risk"))


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _instant(value: str) -> datetime:
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=LOCAL)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL)


def _jsonb(value) -> ColumnElement:
    """A JSON constant as text cast to jsonb (renders as a literal too: EXPLAIN in the bench)."""
    return cast(literal(json.dumps(value, ensure_ascii=False)), JSONB)


def _filled(expr) -> ColumnElement[bool]:
    """A text value that is there: not missing, not JSON null, not empty."""
    return func.coalesce(expr, "").notin_(["", "[]", "{}"])


def _attribute(key: str, op: str, value) -> ColumnElement[bool]:
    attrs = Contact.custom_attributes  # NOT NULL: the bare column, so @> can use the GIN index
    as_text = Contact.custom_attributes[key].astext
    if op == "eq":
        return attrs.bool_op("@>")(_jsonb({key: value}))  # @>: the GIN index
    if op == "ne":
        return not_(attrs.bool_op("@>")(_jsonb({key: value})))
    if op == "contains":
        # A list holds the value as an item; a text holds it as a substring (any case).
        is_text = func.jsonb_typeof(Contact.custom_attributes[key]) == "string"
        return or_(
            attrs.bool_op("@>")(_jsonb({key: [value]})),
            and_(is_text, as_text.ilike(_like(value), escape="\\")),
        )
    if op in ("gt", "gte", "lt", "lte"):
        number = case(
            (func.jsonb_typeof(Contact.custom_attributes[key]) == "number", as_text.cast(Numeric)),
        )
        return {"gt": number > value, "gte": number >= value, "lt": number < value, "lte": number <= value}[
            op
        ]
    if op in ("before", "after"):
        # ISO text orders like the dates it spells; anything else never matches.
        iso = as_text.collate("C")
        compared = iso < value if op == "before" else iso > value
        return and_(as_text.regexp_match(ISO_DATE), compared)
    if op == "set":
        return _filled(as_text)
    return not_(_filled(as_text))  # not_set


def company_condition(op: str, value: str | None) -> ColumnElement[bool]:
    """The company condition, in one place: by the company's name (case-insensitive), read from
    `contacts.company`, which the companies domain keeps in step with the contact's company
    record. Conditions on a company's plan or attributes would join `companies` here."""
    if op == "eq":
        return func.lower(Contact.company) == value.strip().lower()
    if op == "ne":
        return func.coalesce(func.lower(Contact.company), "") != value.strip().lower()
    if op == "contains":
        return Contact.company.ilike(_like(value.strip()), escape="\\")
    if op == "set":
        return _filled(Contact.company)
    return not_(_filled(Contact.company))


def _tier(op: str, value) -> ColumnElement[bool]:
    if op in ("eq", "ne", "set", "not_set"):
        return _attribute("tier", op, value)
    tier = Contact.custom_attributes["tier"].astext
    if op == "in":
        return tier.in_(list(value))
    return func.coalesce(tier, "").notin_(list(value))


def _language(op: str, value) -> ColumnElement[bool]:
    if op == "in":
        return Contact.language.in_(list(value))
    if op == "not_in":
        return func.coalesce(Contact.language, "").notin_(list(value))
    return _filled(Contact.language) if op == "set" else not_(_filled(Contact.language))


def _conversations(ws: int, *where) -> ColumnElement[bool]:
    return exists().where(Conversation.contact_id == Contact.id, Conversation.workspace_id == ws, *where)


def _activity_since(ws: int, since: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(a conversation with activity since, a widget page opened since) for the contact."""
    # coalesce(last_message_at, created_at) >= since, spelled so that indexes on either serve.
    active = or_(
        Conversation.last_message_at >= since,
        and_(Conversation.last_message_at.is_(None), Conversation.created_at >= since),
    )
    page = exists().where(
        VisitorPage.contact_id == Contact.id, VisitorPage.workspace_id == ws, VisitorPage.created_at >= since
    )
    return _conversations(ws, active), page


def _seen_since(ws: int, since: datetime) -> ColumnElement[bool]:
    """Active since: a conversation with activity, or a page opened in the widget."""
    return or_(*_activity_since(ws, since))


def _unseen_since(ws: int, since: datetime) -> ColumnElement[bool]:
    """Not active since, as NOT EXISTS AND NOT EXISTS (not NOT (… OR …)): PostgreSQL makes
    anti-joins of these, probing only the contacts the other conditions left."""
    conversation, page = _activity_since(ws, since)
    return and_(not_(conversation), not_(page))


def _seen_ever(ws: int) -> ColumnElement[bool]:
    return or_(
        _conversations(ws),
        exists().where(VisitorPage.contact_id == Contact.id, VisitorPage.workspace_id == ws),
    )


def _last_seen(ws: int, op: str, value, now: datetime) -> ColumnElement[bool]:
    if op == "within_days":
        return _seen_since(ws, now - timedelta(days=value))
    if op == "not_within_days":
        return _unseen_since(ws, now - timedelta(days=value))
    if op == "after":
        return _seen_since(ws, _instant(value))
    return and_(_seen_ever(ws), _unseen_since(ws, _instant(value)))  # before


def _conversation_count(ws: int, op: str, value: int, days: int, now: datetime) -> ColumnElement[bool]:
    """Conversations started in the last `days` days: ≥, ≤ or = K, counted once per workspace."""
    since = now - timedelta(days=days)

    def having(predicate) -> ColumnElement[bool]:
        counted = (
            select(Conversation.contact_id)
            .where(Conversation.workspace_id == ws, Conversation.created_at >= since)
            .group_by(Conversation.contact_id)
            .having(predicate(func.count()))
        )
        return Contact.id.in_(counted)

    if op == "gte":
        return true() if value == 0 else having(lambda n: n >= value)
    if op == "lte":
        return not_(having(lambda n: n > value))
    if value == 0:  # eq 0
        return not_(having(lambda n: n > 0))
    return having(lambda n: n == value)


def _survey(ws: int, kind: str, op: str, value) -> ColumnElement[bool]:
    """The contact's last answer of this kind (its headline score)."""
    answered = (
        SurveyAnswer.workspace_id == ws,
        SurveyAnswer.kind == kind,
        SurveyAnswer.score.is_not(None),
    )
    if op in ("set", "not_set"):
        found = exists().where(SurveyAnswer.contact_id == Contact.id, *answered)
        return found if op == "set" else not_(found)
    last = (
        select(SurveyAnswer.contact_id, SurveyAnswer.score)
        .where(*answered)
        .ext(distinct_on(SurveyAnswer.contact_id))
        # The index's order exactly (ix_survey_answers_last): an index-only scan, no sort.
        .order_by(SurveyAnswer.contact_id, SurveyAnswer.created_at.desc())
        .subquery()
    )
    score = last.c.score
    predicate = {"lte": score <= value, "gte": score >= value, "eq": score == value}[op]
    return Contact.id.in_(select(last.c.contact_id).where(predicate))


def _sentiment(ws: int, op: str, value) -> ColumnElement[bool]:
    """The sentiment of the last interaction, as the screen pop shows it (table contact_sentiments)."""
    score = contact_sentiments.c.score
    if op in ("set", "not_set"):
        predicate = true()
    elif op == "is":
        predicate = {
            "negative": score <= NEGATIVE,
            "positive": score >= POSITIVE,
            "neutral": and_(score > NEGATIVE, score < POSITIVE),
        }[value]
    else:
        predicate = score <= value if op == "lte" else score >= value
    chosen = Contact.id.in_(
        select(contact_sentiments.c.contact_id).where(contact_sentiments.c.workspace_id == ws, predicate)
    )
    return not_(chosen) if op == "not_set" else chosen


def _churn_risk(ws: int, op: str, value) -> ColumnElement[bool]:
    """The customer's churn risk as the screen pop shows it (the nightly model's score)."""
    risk = churn_scores.c.risk
    predicate = true() if op in ("set", "not_set") else (risk >= value if op == "gte" else risk <= value)
    chosen = Contact.id.in_(
        select(churn_scores.c.contact_id).where(churn_scores.c.workspace_id == ws, predicate)
    )
    return not_(chosen) if op == "not_set" else chosen


def _condition(cond: Condition, ws: int, now: datetime) -> ColumnElement[bool]:
    f, op, value = cond.field, cond.op, cond.value
    if f == "attribute":
        return _attribute(cond.key, op, value)
    if f == "company":
        return company_condition(op, value)
    if f == "language":
        return _language(op, value)
    if f == "tier":
        return _tier(op, value)
    if f == "last_seen":
        return _last_seen(ws, op, value, now)
    if f == "conversations":
        return _conversation_count(ws, op, value, cond.days, now)
    if f == "open_conversation":
        # Spelled as the statuses (not "<> resolved") so the (workspace, status, …) index serves.
        found = _conversations(ws, Conversation.status.in_([Status.open, Status.pending, Status.snoozed]))
        return found if value else not_(found)
    if f == "channel":
        inboxes = select(Inbox.id).where(Inbox.workspace_id == ws, Inbox.channel_type.in_(list(value)))
        found = _conversations(ws, Conversation.inbox_id.in_(inboxes))
        return found if op == "in" else not_(found)
    if f == "tag":
        found = _conversations(ws, Conversation.tags.overlap(list(value)))
        return found if op == "in" else not_(found)
    if f in ("csat", "nps", "ces"):
        return _survey(ws, f, op, value)
    if f == "sentiment":
        return _sentiment(ws, op, value)
    if f == "churn_risk":
        return _churn_risk(ws, op, value)
    raise ValueError(f"unknown field {f}")  # pragma: no cover - parse() refuses it


def condition(group: Group, *, workspace_id: int, now: datetime | None = None) -> ColumnElement[bool]:
    """The filter as a boolean SQL expression over `contacts` (the caller adds the workspace)."""
    now = now or datetime.now(UTC)
    parts = [
        condition(item, workspace_id=workspace_id, now=now)
        if isinstance(item, Group)
        else _condition(item, workspace_id, now)
        for item in group.items
    ]
    if group.mode == "all":
        return and_(true(), *parts) if parts else true()
    return or_(false(), *parts) if parts else false()


def contacts_query(group: Group, *, workspace_id: int, now: datetime | None = None):
    """SELECT the workspace's contacts matching the filter (order and limit are the caller's)."""
    return select(Contact).where(
        Contact.workspace_id == workspace_id, condition(group, workspace_id=workspace_id, now=now)
    )


def ids_query(group: Group, *, workspace_id: int, now: datetime | None = None):
    """SELECT the ids of the workspace's contacts matching the filter."""
    return select(Contact.id).where(
        Contact.workspace_id == workspace_id, condition(group, workspace_id=workspace_id, now=now)
    )
