"""Figures that are not sums of the hourly rollup: percentiles of first response and resolution
(from the per-conversation facts), the topics of negative conversations (Korean morphemes via
nlp), the help center's reads and searches (the knowledge base's counters and search log).

Every statement is scoped to one workspace and runs on the reports connection.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

import psycopg

from sodam.analytics.queries import Filters
from sodam.nlp import text as nlp_text

TOPIC_SAMPLE = 2000  # negative customer messages read per period (the newest)
# Nouns (common, proper), foreign words: what a topic is made of.
TOPIC_TAGS = ("NNG", "NNP", "SL")
STOPWORDS = frozenset(
    {
        "문의",
        "감사",
        "안녕",
        "안녕하세요",
        "고객",
        "확인",
        "부탁",
        "정도",
        "때문",
        "말씀",
        "그것",
        "이것",
        "저것",
        "the",
        "and",
        "for",
        "you",
        "your",
        "with",
        "this",
        "that",
        "have",
        "are",
        "was",
        "not",
        "but",
        "can",
        "please",
        "thank",
        "thanks",
        "hello",
        "just",
        "what",
        "when",
        "there",
    }
)


def _facts_where(f: Filters, alias: str = "s") -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"ws": f.workspace_id, "since": f.since, "until": f.until}
    where = f"{alias}.workspace_id = %(ws)s AND {alias}.hour >= %(since)s AND {alias}.hour < %(until)s"
    for name, value in f.set_filters():
        where += f" AND {alias}.{name} = %({name})s"
        params[name] = value
    if f.contact_ids is not None:
        where += f" AND {alias}.contact_id = ANY(%(contacts)s)"
        params["contacts"] = list(f.contact_ids)
    return where, params


async def percentiles(conn: psycopg.AsyncConnection, f: Filters) -> list[dict[str, Any]]:
    """p50 and p90 (continuous, seconds) of first response and resolution time over the
    conversations whose first response / first resolution falls in the period — the same
    conversations as the means (each fact row of one conversation holds its own duration)."""
    where, params = _facts_where(f)
    cur = await conn.execute(
        "SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s.frt_sum_ms)"
        "         FILTER (WHERE s.frt_count > 0),"
        "       count(*) FILTER (WHERE s.frt_count > 0),"
        "       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s.resolution_sum_ms)"
        "         FILTER (WHERE s.resolved > 0),"
        "       count(*) FILTER (WHERE s.resolved > 0)"
        f"  FROM report_facts s WHERE {where} AND (s.frt_count > 0 OR s.resolved > 0)",
        params,
    )
    frt, frt_n, res, res_n = await cur.fetchone()

    def seconds(values, i):
        return None if not values or values[i] is None else round(values[i] / 1000.0, 1)

    return [
        {"kpi": "first_response_s", "count": int(frt_n), "p50": seconds(frt, 0), "p90": seconds(frt, 1)},
        {"kpi": "resolution_s", "count": int(res_n), "p50": seconds(res, 0), "p90": seconds(res, 1)},
    ]


def top_terms(texts: Iterable[str], *, limit: int = 15) -> list[tuple[str, int]]:
    """The commonest topic words (nouns, foreign words) by how many texts mention them.
    CPU work: call it off the event loop."""
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        return []
    counts: Counter[str] = Counter()
    for tagged in nlp_text.tagged_morphemes_batch([nlp_text.normalize(t) for t in texts]):
        seen = set()
        for item in tagged:
            form, _, tag = item.rpartition("/")
            tag = tag.split("-", 1)[0]
            if tag not in TOPIC_TAGS:
                continue
            word = form.lower()
            if tag == "SL" and len(word) < 3:
                continue
            if word in STOPWORDS:
                continue
            seen.add(word)
        counts.update(seen)
    return counts.most_common(limit)


async def negative_texts(
    conn: psycopg.AsyncConnection, f: Filters, *, limit: int = TOPIC_SAMPLE
) -> list[str]:
    """The newest negative customer messages of conversations created in the period."""
    from sodam.analytics.queries import _conv_filters

    extra, params = _conv_filters(f)
    params.update({"ws": f.workspace_id, "since": f.since, "until": f.until, "limit": limit})
    cur = await conn.execute(
        "SELECT m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE m.workspace_id = %(ws)s AND m.sender_type = 'contact' AND m.sentiment_label = 'negative'"
        f"   AND c.workspace_id = %(ws)s AND c.created_at >= %(since)s AND c.created_at < %(until)s{extra}"
        " ORDER BY m.created_at DESC LIMIT %(limit)s",
        params,
    )
    return [row[0] or "" for row in await cur.fetchall()]


async def negative_topics(
    conn: psycopg.AsyncConnection, f: Filters, *, limit: int = 15
) -> list[dict[str, Any]]:
    texts = await negative_texts(conn, f)
    terms = await asyncio.to_thread(top_terms, texts, limit=limit)
    return [{"topic": term, "messages": n} for term, n in terms]


async def helpcenter(conn: psycopg.AsyncConnection, f: Filters, *, limit: int = 15) -> dict[str, list[dict]]:
    """Most read articles (their view counters: all time, the knowledge base keeps no per-read
    log), most searched queries and searches with no result in the period (the search log,
    kb_searches: help center, bot and API searches)."""
    params = {"ws": f.workspace_id, "since": f.since, "until": f.until, "limit": limit}
    cur = await conn.execute(
        "SELECT a.id, a.title, a.locale, a.view_count FROM kb_articles a WHERE a.workspace_id = %(ws)s"
        " AND a.view_count > 0 ORDER BY a.view_count DESC, a.id LIMIT %(limit)s",
        params,
    )
    read = [
        {"article_id": i, "title": t, "locale": loc, "views": int(v)} for i, t, loc, v in await cur.fetchall()
    ]
    base = (
        "FROM kb_searches s WHERE s.workspace_id = %(ws)s AND s.created_at >= %(since)s"
        " AND s.created_at < %(until)s"
    )
    cur = await conn.execute(
        "SELECT s.normalized, count(*), count(*) FILTER (WHERE s.result_count = 0),"
        f" count(*) FILTER (WHERE s.clicked_article_id IS NOT NULL) {base}"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %(limit)s",
        params,
    )
    searched = [
        {"query": q, "searches": int(n), "no_result": int(z), "clicked": int(c)}
        for q, n, z, c in await cur.fetchall()
    ]
    cur = await conn.execute(
        f"SELECT s.normalized, count(*), max(s.created_at) {base} AND s.result_count = 0"
        " GROUP BY 1 ORDER BY 2 DESC, 3 DESC LIMIT %(limit)s",
        params,
    )
    empty = [{"query": q, "searches": int(n), "last_at": at.isoformat()} for q, n, at in await cur.fetchall()]
    cur = await conn.execute(f"SELECT count(*), count(*) FILTER (WHERE s.result_count = 0) {base}", params)
    total, zero = await cur.fetchone()
    return {
        "most_read": read,
        "most_searched": searched,
        "no_result": empty,
        "totals": {"searches": int(total), "no_result": int(zero)},
    }
