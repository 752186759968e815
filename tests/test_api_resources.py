"""REST API v1 happy paths, one resource at a time, against a live server on a real database."""

from __future__ import annotations

import asyncio
import uuid

from sodam.accounts.models import Role
from tests.test_api_helpers import assert_error, client, new_token, seed_conversation


async def test_contacts_create_get_patch_search(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/contacts",
            json={
                "name": "이서연",
                "email": "Seoyeon@Example.com",
                "phone": "010-1234-5678",
                "custom_attributes": {"plan": "free", "seats": 3},
            },
        )
        assert r.status_code == 201, r.text
        contact = r.json()
        assert contact["name"] == "이서연"
        assert contact["custom_attributes"] == {"plan": "free", "seats": 3}

        r = await api.patch(
            f"/contacts/{contact['id']}",
            json={"company": "소담상사", "custom_attributes": {"plan": "pro", "vip": True}},
        )
        assert r.status_code == 200, r.text
        patched = r.json()
        assert patched["company"] == "소담상사"
        assert patched["name"] == "이서연"  # fields not sent are kept
        assert patched["custom_attributes"] == {"plan": "pro", "seats": 3, "vip": True}

        r = await api.patch(f"/contacts/{contact['id']}", json={"phone": None})
        assert r.json()["phone"] is None

        got = (await api.get(f"/contacts/{contact['id']}")).json()
        assert got == {**patched, "phone": None, "updated_at": got["updated_at"]}

        await api.post("/contacts", json={"name": "박지훈"})
        by_name = (await api.get("/contacts", params={"q": "서연"})).json()
        assert [c["id"] for c in by_name["data"]] == [contact["id"]]
        by_mail = (await api.get("/contacts", params={"q": "seoyeon@"})).json()
        assert [c["id"] for c in by_mail["data"]] == [contact["id"]]
        everyone = (await api.get("/contacts")).json()
        assert len(everyone["data"]) == 2 and everyone["next_cursor"] is None


async def test_contact_conversations(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws)
    other = await seed_conversation(ws, name="다른 고객")
    async with client(live_server, ws.api_token) as api:
        await api.patch(f"/conversations/{seeded.conversation_id}", json={"status": "resolved"})
        r = await api.get(f"/contacts/{seeded.contact_id}/conversations")
        assert r.status_code == 200, r.text
        rows = r.json()["data"]
        assert [c["id"] for c in rows] == [seeded.conversation_id]  # every status, this contact only
        assert rows[0]["status"] == "resolved"
        assert other.conversation_id not in [c["id"] for c in rows]


async def test_conversation_filters(live_server, make_workspace):
    ws = await make_workspace()
    a = await seed_conversation(ws, name="A")
    b = await seed_conversation(ws, name="B")
    c = await seed_conversation(ws, name="C")
    async with client(live_server, ws.api_token) as api:
        team = (await api.post("/teams", json={"name": "배송팀"})).json()
        await api.patch(f"/conversations/{a.conversation_id}", json={"assignee_id": ws.agent_id})
        await api.patch(f"/conversations/{b.conversation_id}", json={"team_id": team["id"]})
        await api.patch(f"/conversations/{c.conversation_id}", json={"status": "resolved"})

        async def ids(**params) -> set[int]:
            r = await api.get("/conversations", params=params)
            assert r.status_code == 200, r.text
            return {row["id"] for row in r.json()["data"]}

        everything = {a.conversation_id, b.conversation_id, c.conversation_id}
        assert await ids() == everything
        assert await ids(view="all") == everything
        assert await ids(view="mine") == {a.conversation_id}
        assert await ids(view="unassigned") == {b.conversation_id, c.conversation_id}
        assert await ids(status="open") == {a.conversation_id, b.conversation_id}
        assert await ids(status="resolved") == {c.conversation_id}
        assert await ids(view="unassigned", status="open") == {b.conversation_id}
        assert await ids(team_id=team["id"]) == {b.conversation_id}
        assert await ids(inbox_id=ws.inbox_id) == everything
        assert await ids(contact_id=a.contact_id) == {a.conversation_id}
        r = await api.get("/conversations", params={"view": "theirs"})
        assert_error(r, 422, "validation_error")


async def test_conversation_patch_writes_event_log(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws)
    cid = seeded.conversation_id
    async with client(live_server, ws.api_token) as api:
        team = (await api.post("/teams", json={"name": "결제팀", "agent_ids": [ws.agent_id]})).json()
        r = await api.patch(
            f"/conversations/{cid}",
            json={
                "status": "pending",
                "priority": "high",
                "assignee_id": ws.agent_id,
                "team_id": team["id"],
                "tags": ["환불", " Refund ", "환불"],
            },
        )
        assert r.status_code == 200, r.text
        conv = r.json()
        assert conv["status"] == "pending"
        assert conv["priority"] == "high"
        assert conv["assignee_id"] == ws.agent_id
        assert conv["team_id"] == team["id"]
        assert conv["tags"] == ["환불", "refund"]

        # Sending only team_id keeps the assignee; null unassigns.
        r = await api.patch(f"/conversations/{cid}", json={"assignee_id": None})
        assert r.json()["assignee_id"] is None and r.json()["team_id"] == team["id"]
        # An empty patch changes nothing and logs nothing.
        before = (await api.get(f"/conversations/{cid}/events")).json()["data"]
        assert (await api.patch(f"/conversations/{cid}", json={})).status_code == 200
        after = (await api.get(f"/conversations/{cid}/events")).json()["data"]
        assert before == after

        assert (await api.get(f"/conversations/{cid}")).json()["assignee_id"] is None
        types = [e["type"] for e in after]
        assert types[:2] == ["conversation.created", "message.created"]
        assert types[2:] == [
            "conversation.assigned",
            "status.changed",
            "priority.changed",
            "tags.changed",
            "conversation.assigned",
        ]
        status_event = after[3]
        assert status_event["actor_type"] == "agent" and status_event["actor_id"] == ws.agent_id
        assert status_event["data"] == {"from": "open", "to": "pending"}
        assert after[-1]["data"] == {"assignee": {"from": ws.agent_id, "to": None}}

        r = await api.patch(f"/conversations/{cid}", json={"status": None})
        assert_error(r, 422)


async def test_send_reply_and_note_idempotent(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws, text="주문 취소하고 싶어요")
    cid = seeded.conversation_id
    async with client(live_server, ws.api_token) as api:
        client_id = str(uuid.uuid4())
        first = await api.post(
            f"/conversations/{cid}/messages", json={"content": "네, 도와드릴게요.", "client_id": client_id}
        )
        assert first.status_code == 201, first.text
        reply = first.json()
        assert reply["seq"] == 2
        assert reply["direction"] == "outgoing" and reply["kind"] == "text"
        assert reply["sender_type"] == "agent" and reply["sender_id"] == ws.agent_id
        assert reply["sender_name"]

        retries = await asyncio.gather(
            *[
                api.post(
                    f"/conversations/{cid}/messages",
                    json={"content": "네, 도와드릴게요.", "client_id": client_id},
                )
                for _ in range(4)
            ]
        )
        assert {r.status_code for r in retries} == {200}
        assert all(r.json() == reply for r in retries)

        note = await api.post(f"/conversations/{cid}/messages", json={"content": "VIP 고객", "private": True})
        assert note.status_code == 201
        assert note.json()["kind"] == "note" and note.json()["direction"] == "internal"

        listed = (await api.get(f"/conversations/{cid}/messages")).json()
        assert [m["content"] for m in listed["data"]] == [
            "주문 취소하고 싶어요",
            "네, 도와드릴게요.",
            "VIP 고객",
        ]
        assert [m["seq"] for m in listed["data"]] == [1, 2, 3]
        after = (await api.get(f"/conversations/{cid}/messages", params={"after_seq": 2})).json()
        assert [m["seq"] for m in after["data"]] == [3]
        assert after["next_cursor"] is None

        # The customer never sees the note.
        conv = (await api.get(f"/conversations/{cid}")).json()
        assert conv["last_seq"] == 3 and conv["last_message_preview"] == "네, 도와드릴게요."

        # A client_id already used elsewhere in the inbox is a conflict, not a silent mix-up.
        other = await seed_conversation(ws)
        r = await api.post(
            f"/conversations/{other.conversation_id}/messages", json={"content": "x", "client_id": client_id}
        )
        assert_error(r, 409, "client_id_conflict")


async def test_inboxes_crud_admin_only(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        listed = (await api.get("/inboxes")).json()
        assert [i["id"] for i in listed["data"]] == [ws.inbox_id]
        r = await api.post(
            "/inboxes",
            json={
                "name": "쇼핑몰 채팅",
                "allowed_origins": ["https://Shop.Example.com/path"],
                "settings": {"color": "#000"},
            },
        )
        assert r.status_code == 201, r.text
        inbox = r.json()
        assert inbox["allowed_origins"] == ["https://shop.example.com"]
        assert inbox["settings"]["color"] == "#000" and inbox["settings"]["position"] == "right"
        assert inbox["public_token"]

        r = await api.patch(
            f"/inboxes/{inbox['id']}",
            json={
                "allowed_origins": ["https://a.example", "http://localhost:3000"],
                "settings": {"greeting_ko": "안녕하세요!"},
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["allowed_origins"] == ["https://a.example", "http://localhost:3000"]
        assert r.json()["settings"]["color"] == "#000"  # merged
        assert r.json()["settings"]["greeting_ko"] == "안녕하세요!"
        assert (await api.get(f"/inboxes/{inbox['id']}")).json() == r.json()

        r = await api.patch(f"/inboxes/{inbox['id']}", json={"allowed_origins": ["ftp://nope"]})
        assert_error(r, 422, "invalid_origin")

    agent_token = await new_token(ws, ["read", "write"], role=Role.agent)
    async with client(live_server, agent_token) as api:
        assert (await api.get(f"/inboxes/{ws.inbox_id}")).status_code == 200
        assert_error(await api.post("/inboxes", json={"name": "x"}), 403, "permission_required")
        assert_error(
            await api.patch(f"/inboxes/{ws.inbox_id}", json={"name": "x"}), 403, "permission_required"
        )
        assert_error(await api.post("/teams", json={"name": "x"}), 403, "permission_required")


async def test_agents_and_teams(live_server, make_workspace):
    ws = await make_workspace()
    supervisor_token = await new_token(ws, ["read", "write"], role=Role.supervisor)
    async with client(live_server, ws.api_token) as api:
        me = (await api.get("/agents/me")).json()
        assert me["id"] == ws.agent_id and me["email"] == ws.agent_email and me["role"] == "admin"
        assert "password_hash" not in me
        agents = (await api.get("/agents")).json()["data"]
        assert len(agents) == 2 and agents[0] == me
        supervisor = agents[1]
        assert (await api.get(f"/agents/{supervisor['id']}")).json()["role"] == "supervisor"

        r = await api.post(
            "/teams", json={"name": "상담 1팀", "agent_ids": [ws.agent_id, supervisor["id"], ws.agent_id]}
        )
        assert r.status_code == 201, r.text
        team = r.json()
        assert team["member_ids"] == sorted([ws.agent_id, supervisor["id"]])
        assert (await api.get(f"/teams/{team['id']}")).json() == team
        assert_error(await api.post("/teams", json={"name": "상담 1팀"}), 409, "team_exists")
    async with client(live_server, supervisor_token) as api:
        r = await api.post("/teams", json={"name": "상담 2팀"})
        assert r.status_code == 201 and r.json()["member_ids"] == []
        teams = (await api.get("/teams")).json()["data"]
        assert [t["name"] for t in teams] == ["상담 1팀", "상담 2팀"]
        assert teams[0]["member_ids"] == team["member_ids"]
