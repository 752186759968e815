"""Jobs are deferred inside the caller's transaction and run by the in-process worker."""

from __future__ import annotations

import asyncio

import psycopg_pool
import pytest
from sqlalchemy import text

from sodam.db.session import session_scope
from sodam.jobs.app import defer_in_tx


async def job_status(job_id: int) -> str | None:
    async with session_scope() as session:
        return await session.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )


async def test_committed_job_runs_and_rolled_back_job_never_exists(db, live_server):
    async with session_scope() as session:
        committed = await defer_in_tx(session, "sodam.echo", {"n": 1})

    class Rollback(Exception):
        pass

    rolled_back = None
    try:
        async with session_scope() as session:
            rolled_back = await defer_in_tx(session, "sodam.echo", {"n": 2})
            raise Rollback
    except Rollback:
        pass
    assert rolled_back is not None
    assert await job_status(rolled_back) is None
    # The live server runs a worker in-process: the committed job finishes.
    for _ in range(100):
        if await job_status(committed) == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert await job_status(committed) == "succeeded"


async def test_reaction_is_deferred_with_the_message_and_filtered(db, make_workspace):
    from sodam.contacts import service as contacts
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.jobs import reactions

    reactions.react(
        "message.created",
        reactions.Reaction(
            "sodam.echo", when=lambda p: p["sender_type"] == "contact", lock_key="conv-{conversation_id}"
        ),
    )
    ws = await make_workspace()
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="고객")
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        customer, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="안녕하세요",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
        agent, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="네, 고객님",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
    async with session_scope() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT args, lock FROM procrastinate_jobs WHERE task_name = 'sodam.echo' AND args->>'conversation_id' = :c"
                ),
                {"c": str(conv.id)},
            )
        ).all()
    assert [r.args["message_id"] for r in rows] == [customer.id]
    assert rows[0].lock == f"conv-{conv.id}"


async def test_every_customer_message_gets_a_sentiment_score(db, live_server, make_workspace):
    import httpx

    from sodam.conversations.models import Message

    ws = await make_workspace()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        token = (await client.post(f"/widget/v1/{ws.inbox_token}/session", json={})).json()["visitor_token"]
        headers = {"X-Sodam-Visitor": token}
        bad = await client.post(
            f"/widget/v1/{ws.inbox_token}/messages",
            json={"content": "배송이 너무 늦고 최악이에요. 정말 실망했습니다", "client_id": "s-1"},
            headers=headers,
        )
        good = await client.post(
            f"/widget/v1/{ws.inbox_token}/messages",
            json={"content": "Thanks, that was really helpful and fast!", "client_id": "s-2"},
            headers=headers,
        )
    ids = [bad.json()["id"], good.json()["id"]]
    labels = {}
    for _ in range(150):
        async with session_scope() as session:
            rows = (
                await session.execute(
                    text("SELECT id, sentiment_label, sentiment_score FROM messages WHERE id = ANY(:ids)"),
                    {"ids": ids},
                )
            ).all()
        labels = {r.id: (r.sentiment_label, r.sentiment_score) for r in rows}
        if all(v[0] for v in labels.values()):
            break
        await asyncio.sleep(0.1)
    assert labels[ids[0]][0] == "negative" and labels[ids[0]][1] < 0
    assert labels[ids[1]][0] == "positive" and labels[ids[1]][1] > 0
    assert Message.sentiment_label is not None


async def test_jobs_of_a_dead_worker_go_back_in_the_queue(db):
    """A worker killed mid-job (kill -9) leaves its job 'doing': once its heartbeat is older
    than the limit the job is queued again; a live worker's job is left alone."""
    from sodam.db.session import current_url
    from sodam.jobs.app import retry_stalled_jobs

    async with session_scope() as session:
        dead_job = await defer_in_tx(session, "sodam.echo", {"n": "dead"}, queue="stalled-test")
        live_job = await defer_in_tx(session, "sodam.echo", {"n": "live"}, queue="stalled-test")
        dead = await session.scalar(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 minute') RETURNING id"
            )
        )
        live = await session.scalar(
            text("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()) RETURNING id")
        )
        for job_id, worker_id in ((dead_job, dead), (live_job, live)):
            await session.execute(
                text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE id = :id"),
                {"w": worker_id, "id": job_id},
            )
    # A test server's worker on the same database runs this recoverer too: while it holds the
    # recoverers' lock this call finds nothing to do (0), and it may have queued the job first.
    pool = psycopg_pool.AsyncConnectionPool(current_url(), min_size=1, max_size=1, open=False)
    await pool.open()
    try:
        for _ in range(100):
            await retry_stalled_jobs(pool, stalled_s=10)
            async with session_scope() as session:
                tries = await session.scalar(
                    text("SELECT attempts FROM procrastinate_jobs WHERE id = :id"), {"id": dead_job}
                )
            if tries >= 1:
                break
            await asyncio.sleep(0.05)
    finally:
        await pool.close()
    async with session_scope() as session:
        live_status = await session.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": live_job}
        )
        rows = dict(
            (
                await session.execute(
                    text("SELECT id, attempts FROM procrastinate_jobs WHERE id IN (:a, :b)"),
                    {"a": dead_job, "b": live_job},
                )
            ).all()
        )
        # Not left 'doing' for a live worker to be confused by: clean up the test's rows.
        await session.execute(
            text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id IN (:a, :b)"),
            {"a": dead_job, "b": live_job},
        )
    # Queued again (attempts + 1; a test server's worker may already have taken it and, being
    # a process apart, counted a try of its own); the live one untouched.
    assert rows[dead_job] >= 1
    assert rows[live_job] == 0
    assert live_status == "doing"


async def _jobs_since(task: str, after_id: int, conversation_ids: list[int] | None = None) -> int:
    async with session_scope() as session:
        sql = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND id > :after"
        params: dict = {"t": task, "after": after_id}
        if conversation_ids is not None:
            sql += " AND (args->>'conversation_id')::bigint = ANY(:c)"
            params["c"] = conversation_ids
        return await session.scalar(text(sql), params)


async def _last_job_id() -> int:
    async with session_scope() as session:
        return await session.scalar(text("SELECT coalesce(max(id), 0) FROM procrastinate_jobs"))


async def test_many_customer_messages_share_one_pending_sentiment_job(db, make_workspace):
    """The message function defers a sentiment job only when none is pending: one batch job
    scores the messages stored until it runs, instead of a job per message."""
    from sodam.contacts import service as contacts
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.conversations.tasks import score_unscored_messages
    from sodam.jobs.app import load_task_modules

    load_task_modules()
    ws = await make_workspace()
    before = await _last_job_id()
    ids = []
    async with session_scope() as session:
        for n in range(4):
            contact = await contacts.create(session, workspace_id=ws.workspace_id, name=f"고객 {n}")
            conv = await conversations.create(
                session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
            )
            for text_ in ("배송이 너무 늦어요 최악이에요", "정말 감사합니다 덕분에 해결됐어요"):
                message, _ = await conversations.create_message(
                    session,
                    conversation=conv,
                    content=text_,
                    sender_type=SenderType.contact,
                    sender_id=contact.id,
                )
                ids.append(message.id)
                await session.commit()
    # Eight messages, eight commits: a worker may have taken the pending job in between
    # (then the next message defers another), but nowhere near one job per message.
    assert 1 <= await _jobs_since("conversations.score_sentiment", before) <= 3
    await score_unscored_messages()
    async with session_scope() as session:
        labels = dict(
            (
                await session.execute(
                    text("SELECT id, sentiment_label FROM messages WHERE id = ANY(:ids)"), {"ids": ids}
                )
            ).all()
        )
    assert [labels[i] for i in ids] == ["negative", "positive"] * 4


async def test_a_scoring_batch_keeps_each_conversation_sentiment_and_the_report_queue(db, make_workspace):
    """The scores of a batch are written in one statement and each conversation's sentiment is
    refreshed once per statement (migration 0044): it must equal the row trigger's formula,
    the mean of (all the conversation's scores, its last five), and reach contact_sentiments
    (segments, the screen pop) and report_dirty (reports); clearing the scores removes it."""
    from sodam.contacts import service as contacts
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.conversations.tasks import score_unscored_messages

    ws = await make_workspace()
    lines = [
        "배송이 너무 늦어요 최악이에요",
        "정말 감사합니다 덕분에 해결됐어요",
        "환불해 주세요",
        "좋아요 친절하네요",
    ]
    convs = []
    async with session_scope() as session:
        for n in range(3):
            contact = await contacts.create(session, workspace_id=ws.workspace_id, name=f"고객 {n}")
            conv = await conversations.create(
                session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
            )
            convs.append((conv.id, contact.id))
            for k in range(7 + n):  # more than five: the last five weigh on their own
                await conversations.create_message(
                    session,
                    conversation=conv,
                    content=lines[(k + n) % len(lines)],
                    sender_type=SenderType.contact,
                    sender_id=contact.id,
                )
                await session.commit()
    await score_unscored_messages()
    async with session_scope() as session:
        for conv_id, contact_id in convs:
            scores = [
                r[0]
                for r in await session.execute(
                    text(
                        "SELECT sentiment_score FROM messages WHERE conversation_id = :c AND sender_type = 'contact'"
                        " ORDER BY created_at DESC, id DESC"
                    ),
                    {"c": conv_id},
                )
            ]
            assert scores and None not in scores
            expected = round((sum(scores) / len(scores) + sum(scores[:5]) / len(scores[:5])) / 2, 3)
            row = (
                await session.execute(
                    text("SELECT score, messages FROM conversation_sentiments WHERE conversation_id = :c"),
                    {"c": conv_id},
                )
            ).one()
            assert (row.score, row.messages) == (pytest.approx(expected, abs=1e-9), len(scores))
            picked = await session.scalar(
                text("SELECT score FROM contact_sentiments WHERE contact_id = :p"), {"p": contact_id}
            )
            assert picked == pytest.approx(expected, abs=1e-9)
            assert await session.scalar(
                text("SELECT count(*) FROM report_dirty WHERE conversation_id = :c"), {"c": conv_id}
            )
        # A score taken back (a re-score to none): the conversation has no sentiment any more.
        first_conv, first_contact = convs[0]
        await session.execute(
            text(
                "UPDATE messages SET sentiment_score = NULL, sentiment_label = NULL WHERE conversation_id = :c"
            ),
            {"c": first_conv},
        )
        await session.commit()
        assert not await session.scalar(
            text("SELECT count(*) FROM conversation_sentiments WHERE conversation_id = :c"), {"c": first_conv}
        )
        assert not await session.scalar(
            text("SELECT count(*) FROM contact_sentiments WHERE contact_id = :p"), {"p": first_contact}
        )


async def test_the_bot_job_is_deferred_only_while_the_bot_has_the_conversation(db, make_workspace):
    from sodam.contacts import service as contacts
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.jobs.app import load_task_modules

    load_task_modules()  # registers the bot's reactions, as a server does
    ws = await make_workspace(bot_enabled=True)
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="고객")
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        await session.commit()
        before = await _last_job_id()
        await conversations.create_message(
            session,
            conversation=conv,
            content="배송 언제 와요?",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
        await session.commit()
    assert await _jobs_since("bot.on_customer_message", before, [conv.id]) == 1

    # An agent answers: the bot's part ends, and the customer's next message is for people.
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=conv.id)
        await conversations.create_message(
            session,
            conversation=conv,
            content="제가 확인해 드릴게요",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        await session.commit()
        before = await _last_job_id()
        await session.refresh(conv)
        assert not conv.bot_handling
        await conversations.create_message(
            session,
            conversation=conv,
            content="네 감사합니다",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
        await session.commit()
    assert await _jobs_since("bot.on_customer_message", before, [conv.id]) == 0
