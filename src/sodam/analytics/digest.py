"""The weekly insights digest (주간 인사이트) for product and marketing: a local week (Monday to
Sunday, Korea's time zone by default) against the week before it.

- what changed: the main KPIs this week and last, biggest moves first;
- top topics: the commonest nouns (Korean morphemes via nlp, English words) in customers'
  messages of conversations started that week, with last week's count;
- topics of negative messages;
- feature requests: conversations of the week tagged as one (FEATURE_TAGS), with the customer's
  first words;
- most asked: the commonest help-center / bot searches, and the bot's most frequent intents;
- worst-rated touchpoints: inboxes, channels and teams by CSAT (at least MIN_ANSWERS answers),
  lowest first, with their negative-sentiment share.

`build` reads (reports connection); `send_week` e-mails it to the subscribed 매니저s through the
workspace's own relay (its first e-mail inbox with an SMTP host), once per workspace and week.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
import psycopg

from sodam.analytics import insights
from sodam.analytics import kpis as K
from sodam.analytics import queries as Q
from sodam.analytics.queries import Filters
from sodam.core.i18n import gettext

log = logging.getLogger(__name__)
KST = ZoneInfo("Asia/Seoul")

FEATURE_TAGS = ("feature_request", "feature-request", "기능요청", "기능_요청")
MIN_ANSWERS = 3
TOPIC_SAMPLE = 3000
CHANGE_KPIS = (
    "conversations",
    "first_response_s",
    "resolution_s",
    "fcr_pct",
    "csat_pct",
    "nps",
    "negative_pct",
    "bot_containment_pct",
    "unanswered",
)


def week_start(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def last_full_week(today: date) -> date:
    """The Monday of the last complete week before `today`."""
    return week_start(today) - timedelta(days=7)


async def _texts(conn: psycopg.AsyncConnection, f: Filters) -> list[str]:
    cur = await conn.execute(
        "SELECT m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE m.workspace_id = %(ws)s AND m.sender_type = 'contact' AND c.workspace_id = %(ws)s"
        "   AND c.created_at >= %(since)s AND c.created_at < %(until)s"
        " ORDER BY m.created_at DESC LIMIT %(limit)s",
        {"ws": f.workspace_id, "since": f.since, "until": f.until, "limit": TOPIC_SAMPLE},
    )
    return [row[0] or "" for row in await cur.fetchall()]


async def _feature_requests(conn: psycopg.AsyncConnection, f: Filters, limit: int = 10) -> dict[str, Any]:
    params = {
        "ws": f.workspace_id,
        "since": f.since,
        "until": f.until,
        "tags": list(FEATURE_TAGS),
        "limit": limit,
    }
    where = (
        "c.workspace_id = %(ws)s AND c.created_at >= %(since)s AND c.created_at < %(until)s"
        " AND c.tags && %(tags)s::varchar[]"
    )
    count = (
        await (await conn.execute(f"SELECT count(*) FROM conversations c WHERE {where}", params)).fetchone()
    )[0]
    cur = await conn.execute(
        "SELECT c.id, c.created_at, left(coalesce(m.content, ''), 200) FROM conversations c"
        " LEFT JOIN LATERAL (SELECT content FROM messages WHERE conversation_id = c.id AND sender_type = 'contact'"
        "   ORDER BY seq LIMIT 1) m ON true"
        f" WHERE {where} ORDER BY c.created_at DESC LIMIT %(limit)s",
        params,
    )
    items = [
        {"conversation_id": i, "created_at": at.isoformat(), "text": t} for i, at, t in await cur.fetchall()
    ]
    return {"count": int(count), "items": items}


async def _most_asked(conn: psycopg.AsyncConnection, f: Filters, limit: int = 10) -> dict[str, list[dict]]:
    params = {"ws": f.workspace_id, "since": f.since, "until": f.until, "limit": limit}
    cur = await conn.execute(
        "SELECT normalized, count(*) FROM kb_searches WHERE workspace_id = %(ws)s AND created_at >= %(since)s"
        " AND created_at < %(until)s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %(limit)s",
        params,
    )
    searches = [{"query": q, "count": int(n)} for q, n in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT b.intent, count(*) FROM bot_conversations b JOIN conversations c ON c.id = b.conversation_id"
        " WHERE b.workspace_id = %(ws)s AND c.created_at >= %(since)s AND c.created_at < %(until)s"
        " AND coalesce(b.intent, '') <> '' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %(limit)s",
        params,
    )
    intents = [{"intent": i, "count": int(n)} for i, n in await cur.fetchall()]
    return {"searches": searches, "intents": intents}


async def _touchpoints(conn: psycopg.AsyncConnection, f: Filters, limit: int = 5) -> list[dict[str, Any]]:
    names = await Q.names(conn, f.workspace_id)
    out = []
    for dim in ("inbox_id", "channel", "team_id"):
        for row in await Q.by_dimension(conn, f, dim):
            if row["csat_n"] < MIN_ANSWERS or row["key"] in (0, ""):  # "no team" is not a touchpoint
                continue
            key = row["key"]
            label = names.get(dim, {}).get(key, str(key)) if dim != "channel" else key
            values = K.figures(row)
            out.append(
                {
                    "kind": dim.removesuffix("_id"),
                    "key": key,
                    "name": label,
                    "csat_pct": values["csat_pct"],
                    "csat_answers": row["csat_n"],
                    "negative_pct": values["negative_pct"],
                }
            )
    out.sort(key=lambda r: (r["csat_pct"], -r["csat_answers"]))
    return out[:limit]


async def build(
    conn: psycopg.AsyncConnection, *, workspace_id: int, week: date, tz: str = "Asia/Seoul"
) -> dict[str, Any]:
    """The digest of the week starting on `week` (a Monday)."""
    this = Filters(workspace_id, week, week + timedelta(days=6), tz)
    last = this.previous()
    now, before = await Q.totals(conn, this), await Q.totals(conn, last)
    cur, prev = K.figures(now), K.figures(before)
    changes = [
        {
            "kpi": key,
            "unit": K.BY_KEY[key].unit,
            "value": cur[key],
            "previous": prev[key],
            "change_pct": K.change(cur[key], prev[key]),
            "higher_is_better": K.BY_KEY[key].higher_is_better,
        }
        for key in CHANGE_KPIS
    ]
    changes.sort(key=lambda c: -(abs(c["change_pct"]) if c["change_pct"] is not None else -1))
    texts_now, texts_before = await _texts(conn, this), await _texts(conn, last)
    topics_now = await asyncio.to_thread(insights.top_terms, texts_now, limit=10)
    topics_before = dict(await asyncio.to_thread(insights.top_terms, texts_before, limit=200))
    return {
        "week": week.isoformat(),
        "period": {"from": this.start.isoformat(), "to": this.end.isoformat(), "tz": tz},
        "previous_period": {"from": last.start.isoformat(), "to": last.end.isoformat(), "tz": tz},
        "changes": changes,
        "top_topics": [
            {"topic": t, "messages": n, "last_week": topics_before.get(t, 0)} for t, n in topics_now
        ],
        "negative_topics": await insights.negative_topics(conn, this, limit=10),
        "feature_requests": await _feature_requests(conn, this),
        "most_asked": await _most_asked(conn, this),
        "worst_touchpoints": await _touchpoints(conn, this),
    }


def _shown(locale: str, unit: str, value: Any) -> str:
    if value is None:
        return "—"
    if unit == "seconds":
        return gettext(locale, "reports.unit.minutes", n=f"{float(value) / 60:.1f}")
    if unit == "percent":
        return f"{value:.1f}%"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def render_text(digest: dict[str, Any], locale: str) -> tuple[str, str]:
    """(subject, plain text) of the digest in the reader's language."""

    def t(key: str, **kw) -> str:
        return gettext(locale, key, **kw)

    lines = [t("reports.digest.heading", start=digest["period"]["from"], end=digest["period"]["to"]), ""]
    lines.append("## " + t("reports.digest.changes"))
    for c in digest["changes"]:
        change = "—" if c["change_pct"] is None else f"{c['change_pct']:+.1f}%"
        label = K.BY_KEY[c["kpi"]].label(locale)
        lines.append(
            f"- {label}: {_shown(locale, c['unit'], c['value'])} ({t('reports.previous')} "
            f"{_shown(locale, c['unit'], c['previous'])}, {change})"
        )
    sections = (
        (
            "reports.digest.top_topics",
            [f"{r['topic']} · {r['messages']} ({r['last_week']})" for r in digest["top_topics"]],
        ),
        (
            "reports.digest.negative_topics",
            [f"{r['topic']} · {r['messages']}" for r in digest["negative_topics"]],
        ),
        (
            "reports.digest.feature_requests",
            [f"#{r['conversation_id']} {r['text']}" for r in digest["feature_requests"]["items"]],
        ),
        (
            "reports.digest.most_asked",
            [f"{r['query']} · {r['count']}" for r in digest["most_asked"]["searches"]]
            + [f"{r['intent']} · {r['count']}" for r in digest["most_asked"]["intents"]],
        ),
        (
            "reports.digest.worst_touchpoints",
            [
                f"{r['name']} · CSAT {_shown(locale, 'percent', r['csat_pct'])} ({r['csat_answers']})"
                for r in digest["worst_touchpoints"]
            ],
        ),
    )
    for key, items in sections:
        lines += ["", "## " + t(key)]
        lines += [f"- {item}" for item in items] or [f"- {t('reports.no_data')}"]
    subject = t("reports.digest.subject", start=digest["period"]["from"])
    return subject, "\n".join(lines) + "\n"


def build_mail(
    digest: dict[str, Any], *, locale: str, sender: str, sender_name: str, to: str
) -> EmailMessage:
    subject, body = render_text(digest, locale)
    mail = EmailMessage()
    mail["From"] = formataddr((sender_name, sender))
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "sodam.local")
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body)
    mail.add_alternative(
        '<html><body><pre style="font-family:sans-serif;white-space:pre-wrap">'
        + html.escape(body)
        + "</pre></body></html>",
        subtype="html",
    )
    return mail


async def _relay(conn: psycopg.AsyncConnection, workspace_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT m.address, i.name, m.smtp_host, m.smtp_port, m.smtp_security, m.smtp_username, m.smtp_password"
        " FROM mail_inboxes m JOIN inboxes i ON i.id = m.inbox_id"
        " WHERE i.workspace_id = %s AND coalesce(m.smtp_host, '') <> '' ORDER BY m.inbox_id LIMIT 1",
        (workspace_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    keys = ("address", "name", "host", "port", "security", "username", "password")
    return dict(zip(keys, row, strict=True))


async def send_week(
    conn: psycopg.AsyncConnection, *, workspace_id: int, week: date, send_timeout: float = 30.0
) -> dict:
    """E-mail the week's digest to the workspace's subscribers (active 매니저s and admins), once:
    a row in report_digest_sends marks the week, in the same transaction as the sending, so a
    failed run is retried and a finished one is not repeated. `conn` is not in autocommit."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO report_digest_sends (workspace_id, week) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (workspace_id, week),
        )
        if await cur.fetchone() is None:
            return {"sent": 0, "already": True}
        cur = await conn.execute(
            "SELECT a.email, a.locale FROM report_digest_subscribers s JOIN agents a ON a.id = s.agent_id"
            " WHERE s.workspace_id = %s AND a.workspace_id = s.workspace_id AND a.is_active"
            " AND a.role IN ('supervisor', 'admin') ORDER BY a.id",
            (workspace_id,),
        )
        readers = await cur.fetchall()
        relay = await _relay(conn, workspace_id)
        if not readers or relay is None:
            return {"sent": 0, "already": False, "relay": relay is not None}
        digest = await build(conn, workspace_id=workspace_id, week=week)
        for email, locale in readers:
            mail = build_mail(
                digest, locale=locale or "ko", sender=relay["address"], sender_name=relay["name"], to=email
            )
            await aiosmtplib.send(
                mail,
                hostname=relay["host"],
                port=relay["port"],
                username=relay["username"],
                password=relay["password"] if relay["username"] else None,
                use_tls=relay["security"] == "tls",
                start_tls=True if relay["security"] == "starttls" else False,
                timeout=send_timeout,
            )
        await conn.execute(
            "UPDATE report_digest_sends SET recipients = %s, sent_at = now() WHERE workspace_id = %s AND week = %s",
            (len(readers), workspace_id, week),
        )
        return {"sent": len(readers), "already": False, "relay": True}


async def subscribed(conn: psycopg.AsyncConnection, *, workspace_id: int, agent_id: int) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM report_digest_subscribers WHERE workspace_id = %s AND agent_id = %s",
        (workspace_id, agent_id),
    )
    return await cur.fetchone() is not None


def parse_week(value: str | None, today: date) -> date:
    """?week=YYYY-MM-DD (any day of the week) → its Monday; default the last complete week."""
    from sodam.core.errors import Invalid

    if value in (None, ""):
        return last_full_week(today)
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(
            "week must be a date (YYYY-MM-DD)", code="invalid_date", details={"field": "week"}
        ) from None
    return week_start(day)


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()
