"""Privacy: a contact's data exported in one file and erased on request, retention per
workspace as a durable job, and the public privacy page — over real HTTP on a real database."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from sodam.accounts.models import Role
from sodam.audit.models import AuditEntry
from sodam.bot.models import BotConversation, BotLearningProposal
from sodam.contacts import service as contacts
from sodam.contacts.models import Contact, ContactIdentity
from sodam.conversations import service as conversations
from sodam.conversations.models import (
    Conversation,
    ConversationEvent,
    Message,
    MessageKind,
    SenderType,
    Status,
)
from sodam.db.session import session_scope
from sodam.privacy import service as privacy
from sodam.privacy.tasks import run_retention
from tests.test_api_helpers import assert_error, client, new_token
from tests.test_console_helpers import add_agent, console_client, post

ERASED_KO = "(고객 요청으로 삭제된 메시지입니다)"


@asynccontextmanager
async def logged_in(server, email: str, password: str):
    browser = await console_client(server, email, password)
    try:
        yield browser
    finally:
        await browser.aclose()


async def seed_customer(ws, *, email: str, texts: list[str], note: str | None = None, handoff: bool = False):
    """A contact with a widget identity and one conversation; returns (contact id, conversation id)."""
    async with session_scope() as session:
        contact = await contacts.get_or_create_by_identity(
            session,
            workspace_id=ws.workspace_id,
            channel_type="web_widget",
            external_id=f"visitor-{email}",
            name="정하은",
            email=email,
            phone="010-9876-5432",
        )
        await contacts.update(
            session, workspace_id=ws.workspace_id, contact_id=contact.id, custom_attributes={"plan": "gold"}
        )
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        for content in texts:
            await conversations.create_message(
                session,
                conversation=conv,
                content=content,
                sender_type=SenderType.contact,
                sender_id=contact.id,
            )
        await conversations.create_message(
            session,
            conversation=conv,
            content="확인해 드리겠습니다.",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        if note:
            await conversations.create_message(
                session,
                conversation=conv,
                content=note,
                sender_type=SenderType.agent,
                sender_id=ws.agent_id,
                kind=MessageKind.note,
            )
        if handoff:
            lead = {"name": "정하은", "email": email, "phone": "010-9876-5432"}
            session.add(
                BotConversation(
                    workspace_id=ws.workspace_id, conversation_id=conv.id, lead=lead, last_question=texts[0]
                )
            )
            session.add(
                BotLearningProposal(
                    workspace_id=ws.workspace_id,
                    conversation_id=conv.id,
                    kind="draft_article",
                    question=texts[0],
                    answer="확인해 드리겠습니다.",
                )
            )
            await conversations.log_event(
                session,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                type="bot.handed_off",
                actor_type="bot",
                data={"question": texts[0], "lead": lead},
            )
        return contact.id, conv.id


async def test_export_holds_the_contacts_messages_and_nothing_of_another_workspace(
    live_server, make_workspace
):
    ws, other = await make_workspace(), await make_workspace()
    contact_id, conv_id = await seed_customer(
        ws,
        email="haeun@example.com",
        texts=["주문 번호 A-1001 배송 언제 오나요?"],
        note="VIP 고객, 환불 이력 있음",
    )
    await seed_customer(other, email="someone@else.test", texts=["다른 회사 고객의 비밀 메시지"])
    async with client(live_server, ws.api_token) as api:
        r = await api.get(f"/contacts/{contact_id}/export")
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"] == f'attachment; filename="sodam-contact-{contact_id}.json"'
        doc = r.json()
        with_notes = (
            await api.get(f"/contacts/{contact_id}/export", params={"include_notes": "true"})
        ).json()
    assert doc["format"] == "sodam.contact-export/1" and doc["notes_included"] is False
    assert doc["contact"]["email"] == "haeun@example.com"
    assert doc["contact"]["custom_attributes"] == {"plan": "gold"}
    assert doc["identities"] == [
        {
            "channel_type": "web_widget",
            "external_id": "visitor-haeun@example.com",
            "created_at": doc["identities"][0]["created_at"],
        }
    ]
    [thread] = doc["conversations"]
    assert thread["id"] == conv_id and thread["inbox"] == "웹 채팅"
    assert [m["content"] for m in thread["messages"]] == [
        "주문 번호 A-1001 배송 언제 오나요?",
        "확인해 드리겠습니다.",
    ]
    assert "VIP 고객" not in r.text
    assert [m["content"] for m in with_notes["conversations"][0]["messages"]][
        -1
    ] == "VIP 고객, 환불 이력 있음"
    assert "다른 회사" not in r.text and "someone@else" not in r.text
    # Another workspace's token cannot export this contact, nor can a non-admin.
    async with client(live_server, other.api_token) as api:
        assert_error(await api.get(f"/contacts/{contact_id}/export"), 404)
    async with client(live_server, await new_token(ws, ["read", "write"], role=Role.supervisor)) as api:
        assert_error(await api.get(f"/contacts/{contact_id}/export"), 403, "permission_required")
    async with session_scope() as session:
        logged = list(
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.workspace_id == ws.workspace_id, AuditEntry.action == "contact.exported"
                )
            )
        )
    assert [(e.target_id, e.details["include_notes"], e.actor_type) for e in logged] == [
        (contact_id, False, "token"),
        (contact_id, True, "token"),
    ]


async def test_erasure_redacts_messages_blanks_the_contact_and_keeps_the_audit_entry(
    live_server, make_workspace
):
    ws = await make_workspace()
    email = "erase-me@example.com"
    contact_id, conv_id = await seed_customer(
        ws, email=email, texts=["제 주소는 서울시 강남구 123입니다"], note="주소 확인함", handoff=True
    )
    kept_id, kept_conv = await seed_customer(ws, email="keep@example.com", texts=["남아 있어야 할 메시지"])
    async with client(live_server, await new_token(ws, ["read", "write"], role=Role.agent)) as api:
        assert_error(await api.post(f"/contacts/{contact_id}/erase"), 403, "permission_required")
    async with client(live_server, await new_token(ws, ["read"])) as api:
        assert_error(await api.post(f"/contacts/{contact_id}/erase"), 403, "insufficient_scope")
    async with client(live_server, ws.api_token) as api:
        r = await api.post(f"/contacts/{contact_id}/erase")
        assert r.status_code == 200, r.text
        result = r.json()
        assert (result["contact_id"], result["conversations"], result["messages"], result["identities"]) == (
            contact_id,
            1,
            3,
            1,
        )
        # The API shows the redaction; the contact cannot be found by its e-mail any more.
        messages = (await api.get(f"/conversations/{conv_id}/messages")).json()["data"]
        assert [m["content"] for m in messages] == [ERASED_KO] * 3
        assert all(m["payload"] is None for m in messages)
        assert (await api.get("/contacts", params={"q": email})).json()["data"] == []
        assert (await api.get("/contacts", params={"q": "정하은"})).json()["data"][0]["id"] == kept_id
        got = (await api.get(f"/contacts/{contact_id}")).json()
        assert (got["name"], got["email"], got["phone"], got["custom_attributes"]) == (None, None, None, {})
        assert (await api.post(f"/contacts/{contact_id}/erase")).status_code == 200  # again: harmless

    async with session_scope() as session:
        stored = list(
            await session.scalars(select(Message.content).where(Message.conversation_id == conv_id))
        )
        assert stored and set(stored) == {ERASED_KO}
        untouched = list(
            await session.scalars(select(Message.content).where(Message.conversation_id == kept_conv))
        )
        assert "남아 있어야 할 메시지" in untouched
        conv = await session.get(Conversation, conv_id)
        assert conv.last_message_preview is None and conv.redacted_at is not None
        assert (
            await session.scalar(select(ContactIdentity.id).where(ContactIdentity.contact_id == contact_id))
            is None
        )
        handoff = await session.scalar(
            select(ConversationEvent).where(
                ConversationEvent.conversation_id == conv_id, ConversationEvent.type == "bot.handed_off"
            )
        )
        assert handoff.data == {"redacted": True} and handoff.actor_type == "bot"  # who and when stay
        bot_state = await session.scalar(
            select(BotConversation).where(BotConversation.conversation_id == conv_id)
        )
        assert bot_state.lead == {} and bot_state.last_question is None
        assert (
            await session.scalar(
                select(BotLearningProposal.id).where(BotLearningProposal.conversation_id == conv_id)
            )
            is None
        )  # a pending proposal built from the customer's words is dropped
        trail = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.workspace_id == ws.workspace_id, AuditEntry.target_id == contact_id)
                .where(AuditEntry.action == "contact.erased")
            )
        )
    assert len(trail) == 2
    assert trail[0].actor_type == "token" and trail[0].agent_id == ws.agent_id and trail[0].ip == "127.0.0.1"
    assert trail[0].details == {"conversations": 1, "messages": 3, "identities": 1}


async def test_redaction_is_refused_outside_an_erasure(db, make_workspace):
    """The event log stays append-only: only a transaction that turned redaction on may blank data."""
    ws = await make_workspace()
    _contact, conv_id = await seed_customer(ws, email="x@example.com", texts=["안녕하세요"])
    with pytest.raises(DBAPIError, match="append-only"):
        async with session_scope() as session:
            await session.execute(
                update(ConversationEvent).where(ConversationEvent.conversation_id == conv_id).values(data={})
            )


async def test_erasure_forgets_the_process_cache(db, make_workspace):
    from sodam.conversations import privacy as conversation_privacy

    ws = await make_workspace()
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="캐시")
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        message, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="캐시에 남은 메시지",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
    await conversation_privacy.forget_cached(
        {"t": "conversations.redacted", "ws": ws.workspace_id, "ids": [conv.id]}
    )
    assert conversations.take_recent_message(message.id) is None


async def test_console_export_and_erase_buttons(live_server, make_workspace):
    ws = await make_workspace()
    contact_id, conv_id = await seed_customer(ws, email="panel@example.com", texts=["콘솔에서 지울 메시지"])
    _agent, agent_email, agent_password = await add_agent(ws)
    async with logged_in(live_server, agent_email, agent_password) as agent:
        page = await agent.get(f"/console/contacts/{contact_id}")
        assert 'id="contact-erase"' not in page.text  # only admins see the buttons
        assert (await agent.get(f"/console/contacts/{contact_id}/export")).status_code == 403
        assert (await post(agent, f"/console/contacts/{contact_id}/erase")).status_code == 403
    async with logged_in(live_server, ws.agent_email, ws.agent_password) as admin:
        page = await admin.get(f"/console/conversations/{conv_id}")
        assert 'id="contact-export"' in page.text and 'id="contact-erase"' in page.text
        assert "개인정보를 삭제할까요?" in page.text  # the ko confirmation
        exported = await admin.get(f"/console/contacts/{contact_id}/export")
        assert exported.status_code == 200 and exported.json()["contact"]["email"] == "panel@example.com"
        r = await post(admin, f"/console/contacts/{contact_id}/erase")
        assert r.status_code == 204 and r.headers["HX-Refresh"] == "true"
        after = await admin.get(f"/console/conversations/{conv_id}")
        assert "콘솔에서 지울 메시지" not in after.text and ERASED_KO in after.text
        audit_page = await admin.get("/console/settings/audit", params={"target_type": "contact"})
        assert 'data-action="contact.erased"' in audit_page.text


async def _age(conversation_id: int, *, days: int, status: Status = Status.resolved) -> None:
    async with session_scope() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(status=status, updated_at=datetime.now(UTC) - timedelta(days=days))
        )


async def test_retention_touches_only_old_resolved_conversations_of_the_workspace_that_asked(
    db, make_workspace
):
    anonymising, deleting, untouched = await make_workspace(), await make_workspace(), await make_workspace()
    async with session_scope() as session:
        await privacy.update_settings(session, workspace_id=anonymising.workspace_id, retention_months=6)
        await privacy.update_settings(
            session, workspace_id=deleting.workspace_id, retention_months=6, retention_action="delete"
        )
    old = {}
    for name, ws in (("anon", anonymising), ("del", deleting), ("none", untouched)):
        _c, old[name] = await seed_customer(ws, email=f"old-{name}@example.com", texts=["오래된 문의"])
        await _age(old[name], days=200)
    _c, old_open = await seed_customer(anonymising, email="open@example.com", texts=["아직 열린 문의"])
    await _age(old_open, days=400, status=Status.open)
    _c, recent = await seed_customer(anonymising, email="recent@example.com", texts=["최근 문의"])
    await _age(recent, days=30)

    first = await run_retention(batch=1)  # batches of one: the loop must go on until done
    assert first[anonymising.workspace_id] == 1 and first[deleting.workspace_id] == 1
    assert untouched.workspace_id not in first
    second = await run_retention()
    assert second[anonymising.workspace_id] == 0 and second[deleting.workspace_id] == 0

    async with session_scope() as session:

        def contents(conv_id):
            return session.scalars(select(Message.content).where(Message.conversation_id == conv_id))

        assert set(await contents(old["anon"])) == {"(보존 기간이 지나 삭제된 메시지입니다)"}
        anonymised = await session.get(Conversation, old["anon"])
        assert anonymised.redacted_at is not None and anonymised.status == Status.resolved
        assert await session.get(Conversation, old["del"]) is None
        assert list(await contents(old["none"])) == ["오래된 문의", "확인해 드리겠습니다."]
        assert "아직 열린 문의" in list(await contents(old_open))
        assert "최근 문의" in list(await contents(recent))
        # The contact itself stays (erasure is per request).
        assert await session.scalar(select(Contact.id).where(Contact.email == "old-anon@example.com"))
        runs = list(
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "retention.applied",
                    AuditEntry.workspace_id.in_(
                        [anonymising.workspace_id, deleting.workspace_id, untouched.workspace_id]
                    ),
                )
            )
        )
    assert sorted((e.workspace_id, e.actor_type, e.details["conversation_ids"][0]) for e in runs) == sorted(
        [(anonymising.workspace_id, "system", old["anon"]), (deleting.workspace_id, "system", old["del"])]
    )


async def test_retention_runs_as_a_durable_periodic_job(live_server, make_workspace):
    from sodam.jobs.app import defer_in_tx, job_app

    assert ("privacy.apply_retention", "privacy-retention") in job_app.periodic_registry.periodic_tasks
    ws = await make_workspace()
    async with session_scope() as session:
        await privacy.update_settings(session, workspace_id=ws.workspace_id, retention_months=1)
    _c, conv_id = await seed_customer(ws, email="job@example.com", texts=["작업으로 지울 문의"])
    await _age(conv_id, days=90)
    async with session_scope() as session:
        job_id = await defer_in_tx(
            session, "privacy.apply_retention", {"timestamp": int(datetime.now(UTC).timestamp())}
        )
    for _ in range(150):
        async with session_scope() as session:
            status = await session.scalar(
                text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        if status in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert status == "succeeded"
    async with session_scope() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv.redacted_at is not None


async def test_privacy_settings_api(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        assert (await api.get("/privacy/settings")).json() == {
            "retention_months": None,
            "retention_action": "anonymise",
            "contact_email": None,
        }
        r = await api.patch("/privacy/settings", json={"retention_months": 12, "retention_action": "delete"})
        assert r.status_code == 200 and r.json()["retention_months"] == 12
        assert_error(await api.patch("/privacy/settings", json={"retention_months": 0}), 422)
        assert_error(await api.patch("/privacy/settings", json={"retention_action": "shred"}), 422)
        r = await api.patch("/privacy/settings", json={"retention_months": None})
        assert r.json() == {"retention_months": None, "retention_action": "delete", "contact_email": None}
    async with client(live_server, await new_token(ws, ["read", "write"], role=Role.supervisor)) as api:
        assert (await api.get("/privacy/settings")).status_code == 200
        assert_error(
            await api.patch("/privacy/settings", json={"retention_months": 3}), 403, "permission_required"
        )
    async with session_scope() as session:
        changes = list(
            await session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.workspace_id == ws.workspace_id, AuditEntry.target_type == "privacy_settings"
                )
                .order_by(AuditEntry.id)
            )
        )
    assert [e.action for e in changes] == ["privacy_settings.created", "privacy_settings.updated"]
    assert changes[1].details["values"]["retention_months"] == {"from": 12, "to": None}


async def test_console_privacy_settings(live_server, make_workspace):
    ws = await make_workspace()
    async with logged_in(live_server, ws.agent_email, ws.agent_password) as admin:
        page = await admin.get("/console/settings/privacy")
        assert page.status_code == 200 and 'id="privacy-form"' in page.text
        r = await post(
            admin,
            "/console/settings/privacy",
            {"retention_months": "24", "retention_action": "anonymise", "contact_email": "privacy@shop.test"},
        )
        assert r.status_code == 200 and 'id="privacy-saved"' in r.text
        bad = await post(admin, "/console/settings/privacy", {"retention_months": "999"})
        assert bad.status_code == 422 and 'id="privacy-error"' in bad.text
    async with session_scope() as session:
        saved = await privacy.get_settings(session, workspace_id=ws.workspace_id)
    assert (saved.retention_months, saved.retention_action, saved.contact_email) == (
        24,
        "anonymise",
        "privacy@shop.test",
    )


async def test_public_privacy_page_lists_the_integrations_in_korean_and_english(live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as session:
        from sodam.accounts import service as accounts

        await accounts.create_api_token(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, name="CRM 동기화", scopes=["read"]
        )
        gone, _raw = await accounts.create_api_token(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, name="old-zapier"
        )
        await accounts.revoke_api_token(session, workspace_id=ws.workspace_id, token_id=gone.id)
        await privacy.update_settings(
            session, workspace_id=ws.workspace_id, retention_months=6, contact_email="dpo@shop.test"
        )
    async with httpx.AsyncClient(base_url=live_server.url) as web:
        ko = await web.get(f"/help/{ws.slug}/privacy", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
        en = await web.get(f"/help/{ws.slug}/privacy", params={"locale": "en"})
        by_header = await web.get(f"/help/{ws.slug}/privacy", headers={"Accept-Language": "en-US"})
        missing = await web.get("/help/no-such-workspace/privacy", headers={"Accept": "text/html"})
        home = await web.get(f"/help/{ws.slug}")
        widget = await web.get(f"/widget/v1/{ws.inbox_token}/config", params={"locale": "en"})
    assert ko.status_code == 200 and en.status_code == 200
    assert "개인정보 처리 안내" in ko.text and "How we handle your personal data" in en.text
    assert "How we handle" in by_header.text
    for page in (ko, en):
        assert "CRM 동기화" in page.text and "tests" in page.text  # the live tokens' names
        assert "old-zapier" not in page.text  # a revoked token sees nothing any more
        assert "dpo@shop.test" in page.text
    assert "읽기" in ko.text and "6개월" in ko.text
    assert "read" in en.text and "6 months" in en.text
    assert missing.status_code == 404
    assert f'href="/help/{ws.slug}/privacy?lang=ko"' in home.text  # the help center's footer
    assert widget.json()["privacy_url"].endswith(f"/help/{ws.slug}/privacy?locale=en")
    assert widget.json()["strings"]["privacy"] == "Privacy"
