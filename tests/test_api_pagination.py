"""Cursor pagination: walking every list page by page returns each row once, in order, with no gap."""

from __future__ import annotations

from sodam.accounts import service as accounts
from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from tests.test_api_helpers import client, seed_conversation, walk


async def test_contacts_walk_with_inserts_meanwhile(live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as session:
        ids = [
            (await contacts.create(session, workspace_id=ws.workspace_id, name=f"고객 {i}")).id
            for i in range(23)
        ]
    async with client(live_server, ws.api_token) as api:
        first = (await api.get("/contacts", params={"limit": 5})).json()
        # Rows added after the first page must not shift the later pages.
        await api.post("/contacts", json={"name": "새 고객"})
        rest = []
        cursor = first["next_cursor"]
        while cursor:
            page = (await api.get("/contacts", params={"limit": 5, "cursor": cursor})).json()
            rest.extend(page["data"])
            cursor = page["next_cursor"]
        seen = [c["id"] for c in first["data"] + rest]
        assert seen == sorted(ids, reverse=True)
        assert [c["id"] for c in await walk(api, "/contacts", 25)][1:] == seen  # exactly one page of 24
        assert len(await walk(api, "/contacts", 24)) == 24
        searched = await walk(api, "/contacts", 3, q="고객 1")  # 고객 1, 고객 10..19
        assert len(searched) == 11 and len({c["id"] for c in searched}) == 11


async def test_conversations_walk_ties_on_activity_time(live_server, make_workspace):
    ws = await make_workspace()
    # One transaction: now() is the same for all of them, so only the id breaks the tie.
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="단골")
        tied = [
            (
                await conversations.create(
                    session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
                )
            ).id
            for _ in range(11)
        ]
    active = [(await seed_conversation(ws, messages=2)).conversation_id for _ in range(4)]
    async with client(live_server, ws.api_token) as api:
        rows = await walk(api, "/conversations", 4)
        assert [r["id"] for r in rows] == list(reversed(active)) + sorted(tied, reverse=True)
        for limit in (1, 3, 15, 100):
            assert [r["id"] for r in await walk(api, "/conversations", limit)] == [r["id"] for r in rows]
        mine = await walk(api, f"/contacts/{contact.id}/conversations", 4)
        assert [r["id"] for r in mine] == sorted(tied, reverse=True)
        filtered = await walk(api, "/conversations", 2, status="open", contact_id=contact.id)
        assert len(filtered) == 11


async def test_messages_and_events_walk(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws, messages=30)
    cid = seeded.conversation_id
    async with client(live_server, ws.api_token) as api:
        messages = await walk(api, f"/conversations/{cid}/messages", 7)
        assert [m["seq"] for m in messages] == list(range(1, 31))
        later = await walk(api, f"/conversations/{cid}/messages", 7, after_seq=25)
        assert [m["seq"] for m in later] == [26, 27, 28, 29, 30]
        events = await walk(api, f"/conversations/{cid}/events", 8)
        assert len(events) == 31  # created + 30 messages
        assert [e["id"] for e in events] == sorted({e["id"] for e in events})


async def test_inboxes_agents_teams_walk(live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as session:
        inbox_ids = [ws.inbox_id] + [
            (await inboxes.create(session, workspace_id=ws.workspace_id, name=f"inbox {i}")).id
            for i in range(4)
        ]
        agent_ids = [ws.agent_id] + [
            (
                await accounts.create_agent(
                    session,
                    workspace_id=ws.workspace_id,
                    email=f"a{i}@{ws.slug}.test",
                    name=f"agent {i}",
                    password="correct-horse-battery",
                )
            ).id
            for i in range(4)
        ]
        team_ids = [
            (await accounts.create_team(session, workspace_id=ws.workspace_id, name=f"team {i}")).id
            for i in range(5)
        ]
    async with client(live_server, ws.api_token) as api:
        assert [i["id"] for i in await walk(api, "/inboxes", 2)] == inbox_ids
        assert [a["id"] for a in await walk(api, "/agents", 2)] == agent_ids
        assert [t["id"] for t in await walk(api, "/teams", 2)] == team_ids
        page = (await api.get("/teams", params={"limit": 5})).json()
        assert len(page["data"]) == 5 and page["next_cursor"] is None


async def test_default_limit_is_25(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws, messages=30)
    async with session_scope() as session:
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=seeded.conversation_id
        )
        await conversations.create_message(
            session,
            conversation=conversation,
            content="마지막",
            sender_type=SenderType.contact,
            sender_id=None,
        )
    async with client(live_server, ws.api_token) as api:
        page = (await api.get(f"/conversations/{seeded.conversation_id}/messages")).json()
        assert len(page["data"]) == 25 and page["next_cursor"]
