"""The rollup kept incrementally from the real paths (messages, assignment, resolve, reopen, the
bot's assumed outcome, sentiment scored later, a survey answer given and changed) equals a full
recomputation; a second run changes nothing; an event committed late (its id below ids already
read) is still counted."""

from __future__ import annotations

import json

import psycopg

from sodam.analytics import rollup
from sodam.analytics.kpis import COUNTERS
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType, Status
from sodam.db.session import session_scope
from sodam.surveys import service as surveys


async def snapshot(url: str, workspace_id: int) -> list[tuple]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            f"SELECT hour, inbox_id, channel, team_id, agent_id, language, {', '.join(COUNTERS)}"
            " FROM report_hourly WHERE workspace_id = %s ORDER BY 1, 2, 3, 4, 5, 6",
            (workspace_id,),
        )
        cube = await cur.fetchall()
        cur = await conn.execute(
            f"SELECT dim, value, hour, {', '.join(COUNTERS)} FROM report_hourly_dim WHERE workspace_id = %s"
            " ORDER BY 1, 2, 3",
            (workspace_id,),
        )
        dims = [("dim", *row) for row in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT contact_id, dim, value, hour, next_hour, first_hour, conversations FROM report_contact_activity"
            " WHERE workspace_id = %s ORDER BY 1, 2, 3, 4",
            (workspace_id,),
        )
        activity = [("activity", *row) for row in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT dim, value, cohort, day, customers FROM report_cohort_days WHERE workspace_id = %s"
            " ORDER BY 1, 2, 3, 4",
            (workspace_id,),
        )
        return cube + dims + activity + [("cohort", *row) for row in await cur.fetchall()]


async def totals(url: str, workspace_id: int) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            f"SELECT {', '.join(f'coalesce(sum({c}), 0)' for c in COUNTERS)} FROM report_hourly_dim"
            " WHERE workspace_id = %s AND dim = ''",
            (workspace_id,),
        )
        return dict(zip(COUNTERS, [int(v) for v in await cur.fetchone()], strict=True))


async def score_then_refresh(url: str):
    """Sentiment is scored by a batch job a moment after each message, by whichever test
    server's worker takes it: score now, so each refresh sees the same scores every run."""
    from sodam.conversations.tasks import score_unscored_messages

    await score_unscored_messages()
    return await rollup.refresh(url)


async def test_incremental_equals_full_rebuild(db, make_workspace):
    ws = await make_workspace()
    other = await make_workspace()  # its rollup must not move when ws is rebuilt
    async with session_scope() as s:
        contact = await contacts.create(
            s, workspace_id=ws.workspace_id, name="고객", email=None, language="ko"
        )
        conv = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        await conversations.create_message(
            s, conversation=conv, content="안녕하세요", sender_type=SenderType.contact, sender_id=contact.id
        )
        other_contact = await contacts.create(s, workspace_id=other.workspace_id, name="B", email=None)
        other_conv = await conversations.create(
            s, workspace_id=other.workspace_id, inbox_id=other.inbox_id, contact_id=other_contact.id
        )
        await conversations.create_message(
            s,
            conversation=other_conv,
            content="hi",
            sender_type=SenderType.contact,
            sender_id=other_contact.id,
        )
    await score_then_refresh(db)
    assert (await totals(db, ws.workspace_id))["unanswered"] == 1
    before_other = await snapshot(db, other.workspace_id)

    async with session_scope() as s:
        conv = await conversations.get(s, workspace_id=ws.workspace_id, conversation_id=conv.id)
        await conversations.assign(
            s,
            workspace_id=ws.workspace_id,
            conversation_id=conv.id,
            assignee_id=ws.agent_id,
            actor_id=ws.agent_id,
        )
        await conversations.create_message(
            s,
            conversation=conv,
            content="네, 도와드리겠습니다",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
    await score_then_refresh(db)
    t = await totals(db, ws.workspace_id)
    assert (t["unanswered"], t["frt_count"]) == (0, 1)  # the unanswered row moved to an answered one

    async with session_scope() as s:
        await conversations.set_status(
            s,
            workspace_id=ws.workspace_id,
            conversation_id=conv.id,
            status=Status.resolved,
            actor_id=ws.agent_id,
        )
    await score_then_refresh(db)
    assert (await totals(db, ws.workspace_id))["fcr"] == 1
    async with session_scope() as s:  # the customer writes again: reopened
        conv = await conversations.get(s, workspace_id=ws.workspace_id, conversation_id=conv.id)
        message, _ = await conversations.create_message(
            s,
            conversation=conv,
            content="아직 안 왔어요",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
    await score_then_refresh(db)
    t = await totals(db, ws.workspace_id)
    assert (t["resolved"], t["fcr"], t["reopened"]) == (1, 0, 1)

    # Changes made in place, without an event: sentiment scored later, the bot's assumed outcome,
    # a survey answer given and then changed.
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await conn.execute("UPDATE messages SET sentiment_label = 'negative' WHERE id = %s", (message.id,))
        bot_conv = await (
            await conn.execute(
                "INSERT INTO conversations (workspace_id, inbox_id, contact_id, status, priority, tags, last_seq)"
                " VALUES (%s, %s, %s, 'open', 'none', '{}', 0) RETURNING id",
                (ws.workspace_id, ws.inbox_id, contact.id),
            )
        ).fetchone()
        await conn.execute(
            "INSERT INTO bot_conversations (workspace_id, conversation_id, state, answers) VALUES (%s, %s, 'listening', 1)",
            (ws.workspace_id, bot_conv[0]),
        )
    await score_then_refresh(db)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await conn.execute(
            "UPDATE bot_conversations SET outcome = 'assumed', outcome_at = now(), state = 'resolved'"
            " WHERE conversation_id = %s",
            (bot_conv[0],),
        )
    async with session_scope() as s:
        # No escalation: CSAT 2 would reopen the conversation when a test server's worker
        # takes the job, between the incremental snapshot and the rebuild.
        survey = await surveys.create(
            s, workspace_id=ws.workspace_id, name="CSAT", kind="csat", escalate=False
        )
        recipient, _ = await surveys.invite(s, survey=survey, contact_id=contact.id, conversation_id=conv.id)
        await surveys.submit(s, recipient=recipient, survey=survey, answers={"score": 2})
    await score_then_refresh(db)
    t = await totals(db, ws.workspace_id)
    assert (t["negative"], t["csat_n"], t["csat_pos"]) == (1, 1, 0)
    async with session_scope() as s:
        survey = await surveys.get(s, workspace_id=ws.workspace_id, survey_id=survey.id)
        recipient = await s.get(type(recipient), recipient.id)
        await surveys.submit(s, recipient=recipient, survey=survey, answers={"score": 5})
    again = await score_then_refresh(db)
    assert again is not None
    t = await totals(db, ws.workspace_id)
    assert (t["csat_n"], t["csat_pos"]) == (1, 1)
    assert (t["bot_conversations"], t["bot_assumed"], t["bot_contained"]) == (1, 1, 1)

    incremental = await snapshot(db, ws.workspace_id)
    assert incremental
    # A second run with nothing new changes nothing (nothing is counted twice).
    await score_then_refresh(db)
    assert await snapshot(db, ws.workspace_id) == incremental
    result = await rollup.rebuild(db, workspace_id=ws.workspace_id)
    assert result.conversations == 2
    assert await snapshot(db, ws.workspace_id) == incremental
    assert await snapshot(db, other.workspace_id) == before_other


async def test_an_event_committed_late_is_counted(db, make_workspace):
    """Transaction 1 takes an event id and commits after transaction 2, whose higher id the
    rollup reads first: the lower id is kept as a gap and counted once it appears."""
    ws = await make_workspace()
    async with session_scope() as s:
        contact = await contacts.create(s, workspace_id=ws.workspace_id, name="고객", email=None)
        late = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        early = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
    await rollup.refresh(db)
    insert = (
        "INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, data, created_at)"
        " VALUES (%s, %s, 'status.changed', 'agent', %s, clock_timestamp())"
    )
    resolved = json.dumps({"from": "open", "to": "resolved"})
    async with (
        await psycopg.AsyncConnection.connect(db) as t1,
        await psycopg.AsyncConnection.connect(db) as t2,
    ):
        await t1.execute(insert, (ws.workspace_id, late.id, resolved))  # holds the lower id, uncommitted
        await t2.execute(insert, (ws.workspace_id, early.id, resolved))
        await t2.commit()
        await rollup.refresh(db)
        assert (await totals(db, ws.workspace_id))["resolved"] == 1
        await t1.commit()
    await rollup.refresh(db)
    assert (await totals(db, ws.workspace_id))["resolved"] == 2
    full = await snapshot(db, ws.workspace_id)
    await rollup.rebuild(db, workspace_id=ws.workspace_id)
    assert await snapshot(db, ws.workspace_id) == full
