"""GET /api/v1/search/conversations over real HTTP against real PostgreSQL: Korean by
morphemes (a conjugated form finds the message), English by stems, notes included,
filters, paging, workspace isolation, highlighting that is safe HTML, redaction."""

from __future__ import annotations

from sodam.accounts.models import Role
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import MessageKind, SenderType, Status
from sodam.db.session import session_scope
from tests.test_api_helpers import assert_error, client, new_token


async def _conversation(ws, name: str, texts: list[tuple[str, str]], **change) -> int:
    """A conversation whose messages are (sender, text): sender 'c' customer, 'a' agent, 'n' note."""
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name=name, email=None)
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        for who, text in texts:
            await conversations.create_message(
                session,
                conversation=conv,
                content=text,
                sender_type=SenderType.contact if who == "c" else SenderType.agent,
                sender_id=contact.id if who == "c" else ws.agent_id,
                kind=MessageKind.note if who == "n" else MessageKind.text,
            )
        if "status" in change:
            await conversations.set_status(
                session,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                status=change["status"],
                actor_id=ws.agent_id,
            )
        if "tags" in change:
            await conversations.set_tags(
                session,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                tags=change["tags"],
                actor_id=None,
            )
        if "assignee" in change:
            await conversations.assign(
                session,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                assignee_id=change["assignee"],
                actor_id=None,
            )
        return conv.id


async def test_korean_conjugations_english_stems_notes_and_highlight(live_server, make_workspace):
    ws = await make_workspace()
    refund = await _conversation(ws, "김환불", [("c", "지난주 주문한 거 환불하고 싶어요 <b>급해요</b>")])
    late = await _conversation(ws, "이배송", [("c", "배송이 너무 늦게 와요"), ("a", "확인해 드리겠습니다")])
    english = await _conversation(ws, "Kim", [("c", "I was charged twice, please refund me")])
    noted = await _conversation(ws, "박메모", [("c", "문의드립니다"), ("n", "환불 규정 확인 필요 (내부)")])
    async with client(live_server, ws.api_token) as api:
        r = await api.get("/search/conversations", params={"q": "환불했어요"})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["terms"] == ["환불"]
        found = {(h["conversation"]["id"], h["message"]["kind"]) for h in page["data"]}
        assert found == {(refund, "text"), (noted, "note")}
        by_conv = {h["conversation"]["id"]: h for h in page["data"]}
        snippet = by_conv[refund]["snippet_html"]
        assert "<mark>환불</mark>하고 싶어요" in snippet
        assert "&lt;b&gt;" in snippet and "<b>" not in snippet  # the customer's HTML stays text
        # A verb by another ending: 늦어서 → 늦 (the stem of 늦게).
        r = await api.get("/search/conversations", params={"q": "늦어서"})
        assert [h["conversation"]["id"] for h in r.json()["data"]] == [late]
        r = await api.get("/search/conversations", params={"q": "refunds"})
        assert [h["conversation"]["id"] for h in r.json()["data"]] == [english]
        assert "<mark>refund</mark>" in r.json()["data"][0]["snippet_html"]
        # Every word must be there.
        r = await api.get("/search/conversations", params={"q": "환불 배송"})
        assert r.json()["data"] == []
        assert_error(await api.get("/search/conversations", params={"q": "   "}), 422, "empty_query")
        assert_error(await api.get("/search/conversations", params={"q": "가" * 201}), 422)


async def test_filters_paging_and_isolation(live_server, make_workspace):
    ws = await make_workspace()
    other = await make_workspace()
    open_one = await _conversation(
        ws, "가", [("c", "결제 취소 부탁드려요")], tags=["vip"], assignee=ws.agent_id
    )
    resolved = await _conversation(ws, "나", [("c", "결제가 취소됐나요?")], status=Status.resolved)
    await _conversation(other, "다", [("c", "결제 취소 해주세요")])
    many = await _conversation(ws, "라", [("c", f"결제 문의 {i}번째") for i in range(5)])
    async with client(live_server, ws.api_token) as api:
        ids = lambda r: [h["conversation"]["id"] for h in r.json()["data"]]  # noqa: E731
        r = await api.get("/search/conversations", params={"q": "결제 취소"})
        assert set(ids(r)) == {open_one, resolved}  # never the other workspace's
        assert ids(
            await api.get("/search/conversations", params={"q": "결제 취소", "status": "resolved"})
        ) == [resolved]
        assert ids(await api.get("/search/conversations", params={"q": "결제", "tag": "VIP"})) == [open_one]
        assert ids(
            await api.get("/search/conversations", params={"q": "결제", "assignee_id": ws.agent_id})
        ) == [open_one]
        assert open_one not in ids(
            await api.get("/search/conversations", params={"q": "결제", "unassigned": True})
        )
        assert (
            ids(
                await api.get(
                    "/search/conversations", params={"q": "결제", "since": "2999-01-01T00:00:00+09:00"}
                )
            )
            == []
        )
        assert_error(
            await api.get("/search/conversations", params={"q": "결제", "since": "2020-01-01T00:00:00"}),
            422,
            "invalid_time",
        )
        # Paging: newest first, no row twice.
        seen, cursor = [], None
        for _ in range(10):
            params = {"q": "결제", "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await api.get("/search/conversations", params=params)).json()
            seen += [h["message"]["id"] for h in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 7
        assert ids(await api.get("/search/conversations", params={"q": "결제", "contact_id": 1})) == []
        assert many in ids(await api.get("/search/conversations", params={"q": "결제", "limit": 100}))
    # Agents may search (permission `work`), with a read token.
    agent_token = await new_token(ws, ["read"], role=Role.agent)
    async with client(live_server, agent_token) as api:
        assert (await api.get("/search/conversations", params={"q": "결제"})).status_code == 200


async def test_redacted_messages_leave_the_index(live_server, make_workspace):
    from datetime import UTC, datetime

    from sodam.conversations import privacy

    ws = await make_workspace()
    conv = await _conversation(ws, "최비밀", [("c", "제 주민번호는 비밀이에요")])
    async with client(live_server, ws.api_token) as api:
        assert len((await api.get("/search/conversations", params={"q": "주민번호"})).json()["data"]) == 1
        async with session_scope() as session:
            await privacy.redact(
                session,
                workspace_id=ws.workspace_id,
                conversation_ids=[conv],
                placeholder="(삭제됨)",
                now=datetime.now(UTC),
            )
        assert (await api.get("/search/conversations", params={"q": "주민번호"})).json()["data"] == []
