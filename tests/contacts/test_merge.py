"""Merging two contacts and undoing it: identities, conversations (and the customer's
messages in them), survey answers, visits and the timeline move to the winner in one
transaction; attributes with a chosen winner per conflict; undo puts back exactly what moved,
for 24 hours (a controllable clock), then 410."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sodam.contacts import merge, visits
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.core.errors import Conflict
from sodam.db.session import session_scope
from sodam.surveys import service as surveys
from tests.test_api_helpers import assert_error, client


async def two_people(ws) -> dict:
    """The same customer twice: by e-mail (with a conversation and a CSAT answer) and on the
    widget (with a conversation, a visit and a phone)."""
    async with session_scope() as s:
        mail = await contacts.get_or_create_by_identity(
            s,
            workspace_id=ws.workspace_id,
            channel_type="email",
            external_id="minji@example.com",
            name="김민지",
            email="minji@example.com",
            custom_attributes={"tier": "VIP", "city": "서울"},
        )
        chat = await contacts.get_or_create_by_identity(
            s,
            workspace_id=ws.workspace_id,
            channel_type="web_widget",
            external_id=f"{ws.inbox_id}:v1",
            name="민지",
            phone="010-1234-5678",
            language="ko",
            company="소담상사",
            custom_attributes={"tier": "일반", "plan": "pro"},
        )
        conv_mail = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=mail.id
        )
        conv_chat = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=chat.id
        )
        message, _ = await conversations.create_message(
            s, conversation=conv_chat, content="환불 문의", sender_type=SenderType.contact, sender_id=chat.id
        )
        await visits.record(
            s,
            workspace_id=ws.workspace_id,
            inbox_id=ws.inbox_id,
            contact_id=chat.id,
            visit_id="v",
            url="https://shop.example.com/cart",
            title="장바구니",
            referrer=None,
            user_agent="Mozilla/5.0",
        )
        csat = await surveys.create(s, workspace_id=ws.workspace_id, name="CSAT", kind="csat")
        recipient, _ = await surveys.invite(s, survey=csat, contact_id=chat.id, conversation_id=conv_chat.id)
        await surveys.submit(s, recipient=recipient, survey=csat, answers={"score": 5})
        await s.commit()
    return {
        "mail": mail.id,
        "chat": chat.id,
        "conv_mail": conv_mail.id,
        "conv_chat": conv_chat.id,
        "message": message.id,
    }


async def owners(ws, p) -> dict:
    async with session_scope() as s:
        q = lambda sql: s.execute(text(sql), {"ws": ws.workspace_id})  # noqa: E731
        return {
            "identities": {
                r[0]: r[1]
                for r in await q(
                    "SELECT external_id, contact_id FROM contact_identities WHERE workspace_id = :ws"
                )
            },
            "conversations": {
                r[0]: r[1]
                for r in await q("SELECT id, contact_id FROM conversations WHERE workspace_id = :ws")
            },
            "answers": {
                r[0] for r in await q("SELECT contact_id FROM survey_answers WHERE workspace_id = :ws")
            },
            "pages": {r[0] for r in await q("SELECT contact_id FROM visitor_pages WHERE workspace_id = :ws")},
            "sender": (await q(f"SELECT sender_id FROM messages WHERE id = {int(p['message'])}")).scalar(),
        }


async def test_merge_then_undo_puts_everything_back(live_server, make_workspace):
    ws = await make_workspace()
    p = await two_people(ws)
    before = await owners(ws, p)
    async with client(live_server, ws.api_token) as api:
        preview = (await api.get(f"/contacts/{p['mail']}")).json()
        assert preview["email"] == "minji@example.com"
        r = await api.post(
            f"/contacts/{p['mail']}/merge",
            json={
                "other_id": p["chat"],
                "choices": {"name": "loser"},
                "attribute_choices": {"tier": "winner"},
            },
        )
        assert r.status_code == 201, r.text
        merged = r.json()
        assert (
            merged["moved"]["conversations.contact_id"] == 1
            and merged["moved"]["contact_identities.contact_id"] == 1
        )
        winner = (await api.get(f"/contacts/{p['mail']}")).json()
        assert winner["name"] == "민지"  # chosen from the loser
        assert winner["email"] == "minji@example.com" and winner["phone"] == "010-1234-5678"
        assert winner["company"] == "소담상사" and winner["language"] == "ko"
        assert winner["custom_attributes"] == {"tier": "VIP", "city": "서울", "plan": "pro"}
        assert_error(await api.get(f"/contacts/{p['chat']}"), 404)
        after = await owners(ws, p)
        assert set(after["identities"].values()) == {p["mail"]}
        assert set(after["conversations"].values()) == {p["mail"]}
        assert (
            after["answers"] == {p["mail"]} and after["pages"] == {p["mail"]} and after["sender"] == p["mail"]
        )
        timeline = (await api.get(f"/contacts/{p['mail']}/timeline", params={"limit": 100})).json()["data"]
        assert {e["data"]["conversation_id"] for e in timeline if e["kind"] == "conversation"} == {
            p["conv_mail"],
            p["conv_chat"],
        }
        # The phone now finds the winner.
        assert_error(await api.post("/contacts", json={"phone": "01012345678"}), 409)

        undone = await api.post(f"/contact-merges/{merged['id']}/undo")
        assert undone.status_code == 200, undone.text
        assert undone.json()["undone_at"]
        assert await owners(ws, p) == before
        back = (await api.get(f"/contacts/{p['chat']}")).json()
        assert (back["name"], back["phone"], back["custom_attributes"]) == (
            "민지",
            "010-1234-5678",
            {"tier": "일반", "plan": "pro"},
        )
        winner = (await api.get(f"/contacts/{p['mail']}")).json()
        assert (winner["name"], winner["phone"], winner["company"]) == ("김민지", None, None)
        assert winner["custom_attributes"] == {"tier": "VIP", "city": "서울"}
        assert_error(await api.post(f"/contact-merges/{merged['id']}/undo"), 409, "merge_undone")
        # Bad requests.
        assert_error(
            await api.post(f"/contacts/{p['mail']}/merge", json={"other_id": p["mail"]}), 422, "same_contact"
        )
        assert_error(await api.post(f"/contacts/{p['mail']}/merge", json={"other_id": 999999999}), 404)
    # The audit log holds both.
    async with session_scope() as s:
        actions = [
            r[0]
            for r in await s.execute(
                text(
                    "SELECT action FROM audit_log WHERE workspace_id = :ws AND action LIKE 'contact.merge%' ORDER BY id"
                ),
                {"ws": ws.workspace_id},
            )
        ]
    assert actions == ["contact.merged", "contact.merge_undone"]


async def test_undo_is_possible_for_24_hours_only(live_server, make_workspace):
    ws = await make_workspace()
    p = await two_people(ws)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    async with session_scope() as s:
        record = await merge.merge(
            s, workspace_id=ws.workspace_id, winner_id=p["mail"], loser_id=p["chat"], now=t0
        )
        await s.commit()
    async with session_scope() as s:
        with pytest.raises(merge.MergeExpired):
            await merge.undo(
                s, workspace_id=ws.workspace_id, merge_id=record.id, now=t0 + timedelta(hours=24)
            )
    async with session_scope() as s:  # a second before the end: still possible
        done = await merge.undo(
            s,
            workspace_id=ws.workspace_id,
            merge_id=record.id,
            now=t0 + timedelta(hours=24) - timedelta(seconds=1),
        )
        assert done.undone_at is not None
        await s.rollback()
    # Over HTTP (the server's own clock): a merge made 25 hours ago answers 410.
    async with session_scope() as s:
        await s.execute(
            text(
                "UPDATE contact_merges SET created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour' WHERE id = :id"
            ),
            {"id": record.id},
        )
        await s.commit()
    async with client(live_server, ws.api_token) as api:
        assert_error(await api.post(f"/contact-merges/{record.id}/undo"), 410, "merge_expired")


async def test_undo_refuses_when_the_address_went_to_someone_else(make_workspace):
    ws = await make_workspace()
    p = await two_people(ws)
    async with session_scope() as s:
        record = await merge.merge(s, workspace_id=ws.workspace_id, winner_id=p["mail"], loser_id=p["chat"])
        await s.commit()
    async with session_scope() as s:
        # The winner drops the phone and a new contact takes it.
        await contacts.update(s, workspace_id=ws.workspace_id, contact_id=p["mail"], phone=None)
        await contacts.create(s, workspace_id=ws.workspace_id, phone="+821012345678")
        await s.commit()
    async with session_scope() as s:
        with pytest.raises(Conflict):
            await merge.undo(s, workspace_id=ws.workspace_id, merge_id=record.id)
