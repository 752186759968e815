"""Group commit on the visitor hot path: concurrent messages share transactions, and each
caller still gets its own stored message (or its own error) after commit."""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import select, update

from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message
from sodam.core.errors import NotFound
from sodam.db.session import session_scope


async def _contacts(ws, n: int) -> list[int]:
    async with session_scope() as session:
        made = [
            await contacts.create(session, workspace_id=ws.workspace_id, name=f"방문자 {i}") for i in range(n)
        ]
        await session.flush()
        return [c.id for c in made]


def _post(ws, contact_id: int, content: str, client_id: str):
    return conversations.post_visitor_message(
        workspace_id=ws.workspace_id,
        inbox_id=ws.inbox_id,
        contact_id=contact_id,
        content=content,
        client_id=client_id,
        language="ko",
        max_chars=10_000,
    )


async def test_concurrent_messages_share_transactions_and_each_is_stored_once(make_workspace):
    ws = await make_workspace()
    visitors = await _contacts(ws, 8)
    committer = conversations.visitor_message_committer()
    transactions0, rows0 = committer.transactions, committer.rows
    sends = [
        (c, f"{c}번 고객의 {k}번째 질문입니다", f"{c}-{k}-{uuid.uuid4()}") for k in range(5) for c in visitors
    ]
    # Every message twice at once, as a retrying widget would: the twin returns the same row.
    results = await asyncio.gather(*[_post(ws, c, text, cid) for c, text, cid in sends + sends])

    assert committer.rows - rows0 == 80
    assert committer.transactions - transactions0 < 80 / 4  # batched, not one commit per message
    for (_c, text, cid), (message, _), (twin, _) in zip(
        sends + sends, results, results[40:] + results[:40], strict=True
    ):
        assert message["content"] == text and message["client_id"] == cid
        assert twin["id"] == message["id"]
    assert sum(created for _, created in results) == 40

    async with session_scope() as session:
        stored = (
            await session.execute(
                select(Message.conversation_id, Message.seq, Message.content).where(
                    Message.workspace_id == ws.workspace_id
                )
            )
        ).all()
        conversations_made = (
            await session.scalars(select(Conversation.id).where(Conversation.workspace_id == ws.workspace_id))
        ).all()
    assert len(stored) == 40 and len(conversations_made) == 8  # one conversation per visitor
    per_conversation: dict[int, list[int]] = {}
    for conversation_id, seq, _ in stored:
        per_conversation.setdefault(conversation_id, []).append(seq)
    assert all(sorted(seqs) == [1, 2, 3, 4, 5] for seqs in per_conversation.values())


async def test_a_bad_row_fails_only_its_own_caller(make_workspace):
    ws = await make_workspace()
    (visitor,) = await _contacts(ws, 1)
    good = [_post(ws, visitor, f"정상 메시지 {k}", str(uuid.uuid4())) for k in range(6)]
    missing_contact = _post(ws, 2_000_000_000, "연락처가 지워진 방문자", str(uuid.uuid4()))
    results = await asyncio.gather(*good[:3], missing_contact, *good[3:], return_exceptions=True)

    assert isinstance(results[3], NotFound) and results[3].code == "contact_not_found"
    stored = [r for i, r in enumerate(results) if i != 3]
    assert all(not isinstance(r, BaseException) for r in stored), stored
    assert sorted(m["seq"] for m, _ in stored) == [1, 2, 3, 4, 5, 6]


async def test_a_lone_message_commits_at_once(make_workspace):
    ws = await make_workspace()
    (visitor,) = await _contacts(ws, 1)
    committer = conversations.visitor_message_committer()
    transactions0 = committer.transactions
    message, created = await _post(ws, visitor, "안녕하세요", str(uuid.uuid4()))
    assert created and message["seq"] == 1
    assert committer.transactions - transactions0 == 1


async def test_a_conversation_someone_else_is_writing_waits_alone(make_workspace):
    """The bot writing its reply holds its conversation's row: that visitor's next messages
    wait for it, in order, while the other visitors' messages commit meanwhile."""
    ws = await make_workspace()
    held_visitor, other = await _contacts(ws, 2)
    first, _ = await _post(ws, held_visitor, "첫 질문입니다", str(uuid.uuid4()))
    await _post(ws, other, "안녕하세요", str(uuid.uuid4()))
    committer = conversations.visitor_message_committer()
    busy0 = committer.busy_groups
    async with session_scope() as holder:
        await holder.execute(
            select(Conversation.id)
            .where(Conversation.id == first["conversation_id"])
            .with_for_update(key_share=True)
        )
        second = asyncio.create_task(_post(ws, held_visitor, "두 번째 질문", str(uuid.uuid4())))
        await asyncio.sleep(0)
        third = asyncio.create_task(_post(ws, held_visitor, "세 번째 질문", str(uuid.uuid4())))
        others = await asyncio.wait_for(
            asyncio.gather(*[_post(ws, other, f"다른 고객 {k}", str(uuid.uuid4())) for k in range(5)]), 10
        )
        assert sorted(m["seq"] for m, _ in others) == [2, 3, 4, 5, 6]
        await asyncio.sleep(0.2)
        assert not second.done() and not third.done()
        assert committer.busy_groups > busy0
        await holder.rollback()
    (second_message, _), (third_message, _) = await asyncio.wait_for(asyncio.gather(second, third), 10)
    assert (second_message["seq"], third_message["seq"]) == (2, 3)


async def test_scoring_sentiment_never_holds_up_the_message_path(make_workspace):
    """The sentiment trigger's rows refer to the conversation (a key check: FOR KEY SHARE on
    it); the message path's lock lets that through, both ways (a batch used to wait for the
    scoring transaction, and in a cycle with it)."""
    ws = await make_workspace()
    (visitor,) = await _contacts(ws, 1)
    first, _ = await _post(ws, visitor, "배송이 너무 늦어요", str(uuid.uuid4()))
    second, _ = await _post(ws, visitor, "정말 답답하네요", str(uuid.uuid4()))
    async with session_scope() as scoring:
        # Two scores in one transaction: the second updates a sentiment row this transaction
        # wrote, which checks its key again.
        for message_id, score in ((first["id"], -0.5), (second["id"], -0.7)):
            await scoring.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(sentiment_score=score, sentiment_label="negative")
            )
        message, created = await asyncio.wait_for(_post(ws, visitor, "언제 오나요?", str(uuid.uuid4())), 5)
        assert created and message["seq"] == 3
        await scoring.commit()


def _visitor_params(ws, contact_id: int, content: str) -> dict:
    """The message statement's parameters for one customer message, as the widget sends it."""
    from sodam.conversations import message_path
    from sodam.conversations.models import MessageKind, SenderType

    return message_path._post_params(
        workspace_id=ws.workspace_id,
        inbox_id=ws.inbox_id,
        contact_id=contact_id,
        conversation_id=None,
        content=content,
        sender_type=SenderType.contact,
        sender_id=contact_id,
        kind=MessageKind.text,
        client_id=str(uuid.uuid4()),
        payload=None,
        language="ko",
        max_chars=10_000,
    )


async def _listen():
    import psycopg

    from sodam.config import get_settings
    from sodam.db.session import libpq_url
    from sodam.realtime import bus

    conn = await psycopg.AsyncConnection.connect(libpq_url(get_settings().database_url), autocommit=True)
    await conn.execute(f"LISTEN {bus.CHANNEL}")
    return conn


async def _heard(conn, until, wait_s: float = 5.0, quiet_ok: bool = False, ws=None) -> list[dict]:
    """What the connection hears until `until(heard)`; with quiet_ok, what it heard in wait_s.
    `ws`: only the events of that workspace (other tests' jobs may still be notifying)."""
    heard = []
    try:
        async with asyncio.timeout(wait_s):
            async for notify in conn.notifies():
                event = json.loads(notify.payload)
                if ws is not None and event.get("ws") != ws:
                    continue
                heard.append(event)
                if until(heard):
                    return heard
    except TimeoutError:
        if not quiet_ok:
            raise
    return heard


async def test_a_batch_notifies_after_its_commit_each_message_once_in_order(make_workspace):
    """The batch's own transaction sends no NOTIFY (it would hold PostgreSQL's notify lock
    through its WAL flush, migration 0045); the committer sends them right after, in order."""
    ws = await make_workspace()
    visitors = await _contacts(ws, 3)
    listener = await _listen()
    try:
        sends = [(c, f"{c}번 고객 {k}", str(uuid.uuid4())) for k in range(4) for c in visitors]
        results = await asyncio.gather(*[_post(ws, c, text, cid) for c, text, cid in sends])
        ids = {message["id"] for message, _ in results}
        heard = await _heard(
            listener, lambda h: {e.get("id") for e in h if e["t"] == "message.created"} >= ids
        )
    finally:
        await listener.close()
    mine = [e for e in heard if e.get("ws") == ws.workspace_id]
    created = [e for e in mine if e["t"] == "message.created"]
    assert sorted(e["id"] for e in created) == sorted(ids)  # each once
    by_conversation: dict[int, list[int]] = {}
    for e in created:
        by_conversation.setdefault(e["conv"], []).append(e["seq"])
    assert all(seqs == [1, 2, 3, 4] for seqs in by_conversation.values()), by_conversation
    opened = [e["conv"] for e in mine if e["t"] == "conversation.created"]
    assert sorted(opened) == sorted(by_conversation)
    for conv in opened:  # the conversation's news before its first message's
        first_message = next(
            i for i, e in enumerate(mine) if e["t"] == "message.created" and e["conv"] == conv
        )
        assert (
            mine.index(next(e for e in mine if e["t"] == "conversation.created" and e["conv"] == conv))
            < first_message
        )


async def test_the_visitor_batch_sends_no_notification_from_its_own_transaction(make_workspace):
    """Run on a listening connection, the batch statement alone sends nothing (a session hears
    its own NOTIFYs after its commit); the follow-up the committer runs sends them."""
    from sodam.conversations import message_path

    ws = await make_workspace()
    (visitor,) = await _contacts(ws, 1)
    params = _visitor_params(ws, visitor, "알림은 커밋 뒤에")
    listener = await _listen()
    try:
        rows = await (await listener.execute(*message_path._post_messages_statement([params]))).fetchall()
        silent = await _heard(listener, lambda h: bool(h), wait_s=0.5, quiet_ok=True, ws=ws.workspace_id)
        await listener.execute(*message_path._notify_after(rows))
        heard = await _heard(
            listener, lambda h: any(e["t"] == "message.created" for e in h), ws=ws.workspace_id
        )
    finally:
        await listener.close()
    assert silent == []
    assert [e["t"] for e in heard] == ["conversation.created", "message.created"]
    assert heard[1]["id"] == rows[0][0]["message"]["id"]


async def test_a_failed_follow_up_loses_nothing_committed():
    from sodam.db.group_commit import GroupCommitter
    from sodam.db.session import raw_pool

    committer = GroupCommitter(
        raw_pool,
        lambda batch: (
            "SELECT x FROM unnest(%(xs)s::int[]) WITH ORDINALITY AS t(x, n) ORDER BY n",
            {"xs": [p["x"] for p in batch]},
        ),
        after_commit=lambda rows: ("SELECT 1 / 0", {}),
    )
    assert await asyncio.gather(*[committer.run({"x": k}) for k in range(5)]) == [(k,) for k in range(5)]


async def _count(conn, sql: str, *args) -> int:
    return (await (await conn.execute(sql, args)).fetchone())[0]


async def test_a_new_raw_connection_runs_the_hot_statements_once_and_keeps_nothing(make_workspace, db):
    """A fresh backend compiles the message function, its triggers and the rate limiter at its
    first call (15-90 ms measured): each new raw connection runs them in a transaction rolled
    back, before it serves a customer."""
    import psycopg
    import psycopg_pool

    from sodam.conversations import message_path
    from sodam.core import ratelimit
    from sodam.db import session as db_session

    ws = await make_workspace()
    seen: list[tuple[int, int, int]] = []

    async def spy(conn) -> None:  # runs after the real ones: what they did, before the rollback
        seen.append(
            (
                await _count(conn, "SELECT count(*) FROM messages WHERE content = 'warm-up'"),
                await _count(conn, "SELECT count(*) FROM rate_limit_buckets WHERE key LIKE %s", "%warm-up%"),
                conn.info.transaction_status,
            )
        )

    assert message_path._warm_up in db_session._raw_warm_ups
    assert ratelimit._warm_up in db_session._raw_warm_ups
    db_session.warm_raw_connections(spy)
    try:
        pool = psycopg_pool.AsyncConnectionPool(
            db, min_size=2, kwargs={"autocommit": True}, configure=db_session._warm_up, open=False
        )
        await pool.open(wait=True)
        async with pool.connection() as conn:
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            assert await _count(conn, "SELECT count(*) FROM messages WHERE content = 'warm-up'") == 0
            assert (
                await _count(conn, "SELECT count(*) FROM contacts WHERE workspace_id = %s", ws.workspace_id)
                == 0
            )
        await pool.close()
    finally:
        db_session._raw_warm_ups.remove(spy)
    # Both connections: two messages (a new conversation's, then the open one's) and the bucket.
    assert seen == [(2, 1, psycopg.pq.TransactionStatus.INTRANS)] * 2


async def test_a_failing_warm_up_does_not_keep_a_connection_from_the_pool(db):
    import psycopg_pool

    from sodam.db import session as db_session

    async def broken(conn) -> None:
        await conn.execute("SELECT * FROM no_such_table")

    db_session.warm_raw_connections(broken)
    try:
        pool = psycopg_pool.AsyncConnectionPool(
            db, min_size=1, kwargs={"autocommit": True}, configure=db_session._warm_up, open=False
        )
        await pool.open(wait=True, timeout=10)
        async with pool.connection() as conn:
            assert await _count(conn, "SELECT 1") == 1
        await pool.close()
    finally:
        db_session._raw_warm_ups.remove(broken)


async def test_prepare_runs_before_the_follow_up_is_sent():
    """What `prepare` keeps for this process's listener (the fan-out's cache of its own
    messages) is there before the NOTIFY goes out: a miss there means written elsewhere."""
    from sodam.db.group_commit import GroupCommitter
    from sodam.db.session import raw_pool

    prepared: list[int] = []
    prepared_when_sent: list[list[int]] = []

    def follow_up(rows):
        prepared_when_sent.append(list(prepared))
        return ("SELECT 1", {})

    committer = GroupCommitter(
        raw_pool,
        lambda batch: (
            "SELECT x FROM unnest(%(xs)s::int[]) WITH ORDINALITY AS t(x, n) ORDER BY n",
            {"xs": [p["x"] for p in batch]},
        ),
        prepare=lambda row: prepared.append(row[0]) or row[0],
        after_commit=follow_up,
    )
    assert await asyncio.gather(*[committer.run({"x": k}) for k in range(6)]) == list(range(6))
    seen = 0
    for snapshot in prepared_when_sent:  # each batch's rows were all prepared before its follow-up
        assert len(snapshot) > seen
        seen = len(snapshot)
    assert seen == 6


async def _status_trigger_calls(ws, contact_id: int, content: str) -> tuple[int, int, str]:
    """A customer's message through the message function in a transaction of its own, with
    PL/pgSQL call counting on: (routing's kick calls, the SLA trigger's calls, the status after)."""
    import psycopg

    from sodam.config import get_settings
    from sodam.conversations import message_path
    from sodam.db.session import libpq_url

    params = _visitor_params(ws, contact_id, content)
    async with await psycopg.AsyncConnection.connect(libpq_url(get_settings().database_url)) as conn:
        await conn.execute("SET LOCAL track_functions = 'pl'")
        rows = await (await conn.execute(*message_path._post_messages_statement([params]))).fetchall()
        kick, sla = await (
            await conn.execute(
                "SELECT coalesce(pg_stat_get_xact_function_calls('sodam_routing_kick'::regproc), 0),"
                " coalesce(pg_stat_get_xact_function_calls('sodam_sla_conversation_changed'::regproc), 0)"
            )
        ).fetchone()
        await conn.commit()
    return kick, sla, rows[0][0]["conversation"]["status"]


async def test_a_message_runs_the_status_triggers_only_when_it_reopens_the_conversation(make_workspace):
    """Routing's kick and the SLA clock react to a status change; a message to an open
    conversation changes none, so they do not run (migration 0047); a reopening one does."""
    ws = await make_workspace()
    (visitor,) = await _contacts(ws, 1)
    first, _ = await _post(ws, visitor, "처음 문의", str(uuid.uuid4()))
    assert await _status_trigger_calls(ws, visitor, "또 문의드려요") == (0, 0, "open")

    async with session_scope() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == first["conversation_id"]).values(status="snoozed")
        )
    kick, sla, status = await _status_trigger_calls(ws, visitor, "아직 답이 없어서요")
    assert (kick, sla, status) == (1, 1, "open")
