"""Churn risk on a synthetic history: `sodam bench churn [--contacts N] [--seed S]`.

Generates a year of customers in a private database — each with a visit rate, conversations
with waits, sentiment, reopenings, unanswered questions and CSAT / NPS answers — where bad
experiences raise the chance that a customer stops coming and slow them down before they
leave. Everything goes in as the real paths store it (conversations, the event log, messages,
survey answers), the reports' rollup is rebuilt, and `analytics.churnrisk.evaluate` trains at
now − 2·window and measures AUC at now − window (a later period the model never saw, with fixed
settings: nothing tuned on it).

The AUC measures the pipeline on a process we wrote, not a real workspace: it says the
features carry the signal the generator planted and that nothing leaks across the split. The
baseline is "days since the last conversation" alone.

Prints the figures; the last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from bench.common import console, private_database

DAYS = 365


def _plan(contacts: int, seed: int, now: datetime):
    """Conversations per customer (numpy, deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    start = now - timedelta(days=DAYS)
    convs = []  # (contact index, created, wait_s or None, negative, reopened, csat, nps)
    for c in range(contacts):
        rate = rng.gamma(2.0, 1 / 50.0)  # conversations per day, mean 1 in 25 days
        mood = rng.normal(0.0, 1.0)  # a customer's leaning to bad experiences
        t = rng.uniform(0, 200)
        while t < DAYS:
            wait_h = float(rng.lognormal(mean=-1.0 + 0.4 * mood, sigma=1.0))
            unanswered = rng.random() < 0.03 + 0.03 * (mood > 1)
            negative = rng.random() < 1 / (1 + np.exp(-(-1.6 + 0.9 * mood + 0.3 * min(wait_h, 8))))
            reopened = (not unanswered) and rng.random() < 0.06 + 0.05 * negative
            csat = None
            if not unanswered and rng.random() < 0.4:
                csat = int(
                    np.clip(round(4.3 - 1.6 * negative - 0.2 * min(wait_h, 6) + rng.normal(0, 0.7)), 1, 5)
                )
            nps = None
            if rng.random() < 0.1:
                nps = int(np.clip(round(8 - 3 * negative - 0.8 * mood + rng.normal(0, 1.5)), 0, 10))
            convs.append(
                (
                    c,
                    start + timedelta(days=float(t)),
                    None if unanswered else wait_h * 3600,
                    negative,
                    reopened,
                    csat,
                    nps,
                )
            )
            # Bad experiences make leaving likelier, and slow the customer down first.
            bad = (
                1.3 * negative
                + 0.6 * (wait_h > 4)
                + 0.8 * reopened
                + 1.2 * unanswered
                + 1.0 * (csat is not None and csat <= 2)
            )
            if rng.random() < 1 / (1 + np.exp(-(-3.2 + bad))):
                break  # gone
            if bad > 1:
                rate *= 0.6
            t += rng.exponential(1 / rate)
    return convs


def _copy(conn: psycopg.Connection, table: str, columns: str, rows) -> None:
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _load(url: str, contacts: int, seed: int, now: datetime) -> dict:
    plan = _plan(contacts, seed, now)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        ws = conn.execute(
            "INSERT INTO workspaces (name, slug, default_locale) VALUES ('Bench 이탈', 'bench-churn', 'ko') RETURNING id"
        ).fetchone()[0]
        inbox = conn.execute(
            "INSERT INTO inboxes (workspace_id, name, channel_type, public_token, allowed_origins, settings)"
            " VALUES (%s, '웹 채팅', 'web_widget', md5(random()::text), '{}', '{}') RETURNING id",
            (ws,),
        ).fetchone()[0]
        agent = conn.execute(
            "INSERT INTO agents (workspace_id, email, name, password_hash, role, locale, is_active, session_version)"
            " VALUES (%s, 'a@churn.test', '상담원', 'x', 'agent', 'ko', true, 1) RETURNING id",
            (ws,),
        ).fetchone()[0]
        contact_ids = [
            r[0]
            for r in conn.execute(
                "INSERT INTO contacts (workspace_id, name, language, custom_attributes)"
                " SELECT %s, '고객 ' || g, 'ko', '{}' FROM generate_series(1, %s) g RETURNING id",
                (ws, contacts),
            ).fetchall()
        ]
        conv_ids = [
            r[0]
            for r in conn.execute(
                "SELECT nextval(pg_get_serial_sequence('conversations', 'id')) FROM generate_series(1, %s)",
                (len(plan),),
            ).fetchall()
        ]
        surveys = {
            kind: conn.execute(
                "INSERT INTO surveys (workspace_id, name, kind, audience, questions, on_resolve_inbox_ids, escalate,"
                " expires_after_hours, is_active) VALUES (%s, %s, %s, 'customers', '[]', '{}', false, 168, true)"
                " RETURNING id",
                (ws, kind, kind),
            ).fetchone()[0]
            for kind in ("csat", "nps")
        }
        conversations, events, messages, recipients = [], [], [], []
        for cid, (c, created, wait, negative, reopened, csat, nps) in zip(conv_ids, plan, strict=True):
            contact = contact_ids[c]
            status = "open" if wait is None else "resolved"
            conversations.append((cid, ws, inbox, contact, status, "none", "{}", "ko", 2, created, created))
            events.append((ws, cid, "conversation.created", "contact", None, "{}", created))
            events.append((ws, cid, "message.created", "contact", None, '{"kind": "text"}', created))
            messages.append(
                (
                    ws,
                    cid,
                    inbox,
                    1,
                    "incoming",
                    "text",
                    "contact",
                    "문의드립니다",
                    "negative" if negative else "neutral",
                    created,
                )
            )
            if wait is not None:
                replied = created + timedelta(seconds=wait)
                events.append((ws, cid, "message.created", "agent", agent, '{"kind": "text"}', replied))
                resolved = replied + timedelta(minutes=20)
                events.append(
                    (
                        ws,
                        cid,
                        "status.changed",
                        "agent",
                        agent,
                        '{"from": "open", "to": "resolved"}',
                        resolved,
                    )
                )
                if reopened:
                    events.append(
                        (
                            ws,
                            cid,
                            "status.changed",
                            "contact",
                            None,
                            '{"from": "resolved", "to": "open"}',
                            resolved + timedelta(hours=5),
                        )
                    )
            for kind, score in (("csat", csat), ("nps", nps)):
                if score is not None:
                    recipients.append((kind, score, contact, cid, created + timedelta(hours=2)))
        _copy(
            conn,
            "conversations",
            "id, workspace_id, inbox_id, contact_id, status, priority, tags, language, last_seq, created_at, updated_at",
            conversations,
        )
        _copy(
            conn,
            "conversation_events",
            "workspace_id, conversation_id, type, actor_type, actor_id, data, created_at",
            events,
        )
        _copy(
            conn,
            "messages",
            "workspace_id, conversation_id, inbox_id, seq, direction, kind, sender_type, content, sentiment_label, created_at",
            messages,
        )
        for n, (kind, score, contact, cid, when) in enumerate(recipients):
            rid = conn.execute(
                "INSERT INTO survey_recipients (workspace_id, survey_id, contact_id, conversation_id, token, channel,"
                " language, expires_at, created_at) VALUES (%s, %s, %s, %s, %s, 'link', 'ko', %s, %s) RETURNING id",
                (ws, surveys[kind], contact, cid, f"churn-bench-{n}", when + timedelta(days=7), when),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO survey_answers (workspace_id, survey_id, recipient_id, contact_id, conversation_id, kind,"
                " score, answers, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, '{}', %s, %s)",
                (ws, surveys[kind], rid, contact, cid, kind, score, when, when),
            )
        conn.execute("SET session_replication_role = DEFAULT")
        conn.execute("ANALYZE")
    return {"workspace_id": ws, "conversations": len(plan), "events": len(events), "answers": len(recipients)}


def main(*, contacts: int = 5000, seed: int = 20261203) -> dict:
    from sodam.analytics import churnrisk, rollup
    from sodam.db.migrate import upgrade

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with private_database() as db:
        with console.status("migrating"):
            upgrade(db.url)
        started = time.perf_counter()
        with console.status(f"generating {contacts:,} customers' year"):
            loaded = _load(db.url, contacts, seed, now)
        load_s = time.perf_counter() - started
        with console.status("rebuilding the rollup"):
            asyncio.run(rollup.rebuild(db.url))
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

        async def run():
            async with await psycopg.AsyncConnection.connect(db.url, autocommit=True) as conn:
                t0 = time.perf_counter()
                ev = await churnrisk.evaluate(conn, workspace_id=loaded["workspace_id"], now=now)
                return ev, time.perf_counter() - t0

        ev, eval_s = asyncio.run(run())
    result = {
        "bench": "churn",
        "contacts": contacts,
        "seed": seed,
        **{k: loaded[k] for k in ("conversations", "events", "answers")},
        "load_s": round(load_s, 1),
        "train_at": ev.train_at.date().isoformat(),
        "test_at": ev.test_at.date().isoformat(),
        "window_days": churnrisk.WINDOW_DAYS,
        "active_days": churnrisk.ACTIVE_DAYS,
        "n_train": ev.n_train,
        "churned_train": ev.churned_train,
        "n_test": ev.n_test,
        "churned_test": ev.churned_test,
        "auc": None if ev.auc is None else round(ev.auc, 3),
        "baseline_auc_days_since_last": None if ev.baseline_auc is None else round(ev.baseline_auc, 3),
        "evaluate_s": round(eval_s, 2),
        "coefficients": None
        if ev.model is None
        else dict(zip(ev.model["features"], [round(c, 3) for c in ev.model["coef"]], strict=True)),
    }
    for key, value in result.items():
        console.print(f"{key:>30}  {value}")
    out = io.StringIO()
    json.dump(result, out, ensure_ascii=False)
    print(out.getvalue())
    return result
