"""The agent console over HTTP: login, CSRF, inbox filters, replies, actions, isolation, escaping, i18n."""

from __future__ import annotations

import httpx
import pytest

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.conversations import service as conversations
from sodam.conversations.models import MessageKind, Status
from sodam.db.session import session_scope
from tests.test_console_helpers import (
    add_agent,
    console_client,
    csrf_of,
    login,
    post,
    seed_conversation,
)


@pytest.fixture
async def admin(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    yield ws, client
    await client.aclose()


async def test_login_page_in_korean_and_english(live_server):
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        ko = await client.get("/console/login", headers={"Accept-Language": "ko-KR"})
        en = await client.get("/console/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert ko.status_code == en.status_code == 200
    assert 'lang="ko"' in ko.text and "비밀번호" in ko.text
    assert 'lang="en"' in en.text and "Password" in en.text
    for page in (ko, en):
        assert 'input type="email" name="email"' in page.text
        assert 'name="password"' in page.text and 'button type="submit"' in page.text
    cookie = en.headers["set-cookie"]
    assert "sodam_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_login_success_sets_a_signed_http_only_session(live_server, make_workspace):
    ws = await make_workspace()
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        r = await login(client, ws.agent_email, ws.agent_password)
        assert r.status_code == 303 and r.headers["location"] == "/console"
        cookie = [c for c in r.headers.get_list("set-cookie") if c.startswith("sodam_session=")][0]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
        assert "Secure" not in cookie  # settings.secure_cookies is off in tests
        page = await client.get("/console")
        assert page.status_code == 200
        assert "받은 문의함" in page.text and f"상담원 {ws.slug}" in page.text


async def test_wrong_password_gives_no_session(live_server, make_workspace):
    ws = await make_workspace()
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        r = await login(client, ws.agent_email, "not-the-password")
        assert r.status_code == 400
        assert "sodam_session" not in client.cookies
        assert "올바르지 않습니다" in r.text
        unknown = await login(client, "nobody@nowhere.test", "whatever-123")
        assert unknown.status_code == 400 and "sodam_session" not in client.cookies
        assert (await client.get("/console")).status_code == 303


async def test_next_parameter_never_leaves_the_console(live_server, make_workspace):
    ws = await make_workspace()
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await client.get("/console/login")
        r = await client.post(
            "/console/login",
            data={
                "email": ws.agent_email,
                "password": ws.agent_password,
                "csrf_token": csrf_of(client),
                "next": "https://evil.example/console",
            },
        )
        assert r.headers["location"] == "/console"


async def test_unauthenticated_console_redirects_html_and_401s_htmx(live_server):
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = await client.get("/console/conversations/1", headers={"Accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == "/console/login?next=%2Fconsole%2Fconversations%2F1"
        fragment = await client.get("/console/conversations", headers={"HX-Request": "true"})
        assert fragment.status_code == 401
        assert fragment.json()["error"]["code"] == "login_required"
        assert fragment.headers["hx-redirect"].startswith("/console/login")
        as_json = await client.get(
            "/console/conversations/1/timeline", headers={"Accept": "application/json"}
        )
        assert as_json.status_code == 401


async def test_tampered_session_cookie_is_refused(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    raw = client.cookies.get("sodam_session")
    async with httpx.AsyncClient(base_url=live_server.url) as other:
        other.cookies.set("sodam_session", raw[:-3] + ("aaa" if not raw.endswith("aaa") else "bbb"))
        assert (await other.get("/console")).status_code == 303
    await client.aclose()


async def test_post_without_valid_csrf_token_is_403(admin):
    ws, client = admin
    conv_id, _ = await seed_conversation(ws)
    path = f"/console/conversations/{conv_id}/status"
    missing = await client.post(path, data={"status": "resolved"})
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(path, data={"status": "resolved", "csrf_token": "x" * 43})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf_failed"
    wrong_header = await client.post(path, data={"status": "resolved"}, headers={"X-CSRF-Token": "y" * 43})
    assert wrong_header.status_code == 403
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=conv_id)
        assert conv.status.value == "open"  # nothing changed
    ok = await post(client, path, {"status": "resolved"})
    assert ok.status_code == 200
    form_ok = await client.post(path, data={"status": "open", "csrf_token": csrf_of(client)})
    assert form_ok.status_code == 200


async def test_login_itself_needs_the_csrf_token(live_server, make_workspace):
    ws = await make_workspace()
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        r = await client.post("/console/login", data={"email": ws.agent_email, "password": ws.agent_password})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
        assert "sodam_session" not in client.cookies


async def test_logout_and_logout_everywhere(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    r = await client.post("/console/logout", data={"csrf_token": csrf_of(client)})
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    assert "sodam_session" not in client.cookies
    assert (await client.get("/console")).status_code == 303
    await client.aclose()

    first = await console_client(live_server, ws.agent_email, ws.agent_password)
    second = await console_client(live_server, ws.agent_email, ws.agent_password)
    r = await first.post("/console/logout-everywhere", data={"csrf_token": csrf_of(first)})
    assert r.status_code == 303
    # The other browser's cookie carries the old session_version: refused.
    assert (await second.get("/console")).status_code == 303
    await first.aclose()
    await second.aclose()


async def test_deactivated_agent_loses_the_session(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    assert (await client.get("/console")).status_code == 200
    async with session_scope() as session:
        agent = await accounts.get_agent(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
        agent.is_active = False
    assert (await client.get("/console")).status_code == 303
    await client.aclose()


def row_ids(html: str) -> set[int]:
    import re

    return {int(x) for x in re.findall(r'class="conv-row[^"]*"\s+data-conversation-id="(\d+)"', html)}


async def test_inbox_list_filters(admin):
    ws, client = admin
    mine, _ = await seed_conversation(ws, name="내 고객", assignee_id=ws.agent_id)
    unassigned, _ = await seed_conversation(ws, name="새 고객")
    done, _ = await seed_conversation(ws, name="끝난 고객")
    async with session_scope() as session:
        await conversations.set_status(
            session, workspace_id=ws.workspace_id, conversation_id=done, status=Status.resolved, actor_id=None
        )
    home = await client.get("/console")
    assert 'id="conversation-list"' in home.text
    assert row_ids(home.text) == {mine, unassigned}
    assert "내 고객" in home.text and "안녕하세요, 배송 문의드립니다" in home.text

    async def rows(**params):
        r = await client.get("/console/conversations", params=params, headers={"HX-Request": "true"})
        assert r.status_code == 200
        return row_ids(r.text)

    assert await rows(view="mine") == {mine}
    assert await rows(view="unassigned") == {unassigned}
    assert await rows(view="all") == {mine, unassigned}
    assert await rows(view="all", status="resolved") == {done}
    assert await rows(view="mine", status="pending") == set()


async def test_conversation_page_has_the_stable_selectors(admin):
    ws, client = admin
    conv_id, contact_id = await seed_conversation(ws)
    page = await client.get(f"/console/conversations/{conv_id}")
    assert page.status_code == 200
    html = page.text
    for needle in (
        'id="messages"',
        'class="msg msg-incoming" data-message-id=',
        'class="msg-body"',
        'textarea id="reply-box" name="content"',
        'button type="submit" id="reply-send"',
        'input type="checkbox" id="reply-private"',
        'id="status-actions"',
        'id="assign-actions"',
        'id="contact-panel"',
        f'data-conversation-id="{conv_id}"',
        'hx-headers=\'{"X-CSRF-Token": ',
    ):
        assert needle in html, needle
    # htmx navigation gets the centre and right panes only.
    fragment = await client.get(
        f"/console/conversations/{conv_id}", headers={"HX-Request": "true", "HX-Target": "conversation-area"}
    )
    assert 'id="messages"' in fragment.text and "<html" not in fragment.text


async def test_reply_and_private_note_are_stored_with_the_right_kind(admin):
    ws, client = admin
    conv_id, _ = await seed_conversation(ws)
    reply = await post(
        client,
        f"/console/conversations/{conv_id}/messages",
        {"content": "확인해 보겠습니다.\n잠시만 기다려 주세요."},
        headers={"Accept": "application/json"},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["css"] == "msg-outgoing" and reply.json()["kind"] == "text"
    note = await post(
        client,
        f"/console/conversations/{conv_id}/messages",
        {"content": "VIP 고객입니다", "private": "1"},
        headers={"Accept": "application/json"},
    )
    assert note.status_code == 201 and note.json()["css"] == "msg-note"
    empty = await post(client, f"/console/conversations/{conv_id}/messages", {"content": "   "})
    assert empty.status_code == 422 and "빈 메시지" in empty.json()["error"]["message"]
    async with session_scope() as session:
        stored = await conversations.messages_after(
            session, workspace_id=ws.workspace_id, conversation_id=conv_id, include_private=True
        )
        public = await conversations.messages_after(
            session, workspace_id=ws.workspace_id, conversation_id=conv_id
        )
    kinds = [(m.kind, m.direction.value, m.sender_id) for m in stored[1:]]
    assert kinds == [(MessageKind.text, "outgoing", ws.agent_id), (MessageKind.note, "internal", ws.agent_id)]
    assert [m.content for m in public][
        -1
    ] == "확인해 보겠습니다.\n잠시만 기다려 주세요."  # the customer never sees the note
    page = await client.get(f"/console/conversations/{conv_id}")
    assert 'class="msg msg-note"' in page.text and "VIP 고객입니다" in page.text
    assert 'class="msg msg-outgoing"' in page.text
    # Without JavaScript the form posts and comes back to the page.
    plain = await client.post(
        f"/console/conversations/{conv_id}/messages", data={"content": "네", "csrf_token": csrf_of(client)}
    )
    assert plain.status_code == 303 and plain.headers["location"] == f"/console/conversations/{conv_id}"
    timeline = await client.get(f"/console/conversations/{conv_id}/timeline?after_seq=2")
    assert [m["content"] for m in timeline.json()["messages"]] == ["VIP 고객입니다", "네"]


async def test_assign_status_and_tags_write_conversation_events(admin):
    ws, client = admin
    teammate_id, *_ = await add_agent(ws)
    async with session_scope() as session:
        team = await accounts.create_team(session, workspace_id=ws.workspace_id, name="배송팀")
    conv_id, _ = await seed_conversation(ws)
    base = f"/console/conversations/{conv_id}"
    r = await post(client, f"{base}/assign", {"assignee": "me"})
    assert r.status_code == 200 and r.headers["hx-trigger"] == "sodam:timeline"
    assert 'id="status-actions"' in r.text
    assert (
        await post(client, f"{base}/assign", {"assignee": str(teammate_id), "team": str(team.id)})
    ).status_code == 200
    assert (await post(client, f"{base}/status", {"status": "resolved"})).status_code == 200
    assert (await post(client, f"{base}/tags", {"tags": "배송, 환불 ,배송"})).status_code == 200
    assert (await post(client, f"{base}/status", {"status": "bogus"})).status_code == 422
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=conv_id)
        log = await conversations.events(session, workspace_id=ws.workspace_id, conversation_id=conv_id)
    assert conv.assignee_id == teammate_id and conv.team_id == team.id
    assert conv.status.value == "resolved" and conv.tags == ["배송", "환불"]
    mine = [(e.type, e.data) for e in log if e.actor_type == "agent" and e.actor_id == ws.agent_id]
    assert [t for t, _ in mine] == [
        "conversation.assigned",
        "conversation.assigned",
        "status.changed",
        "tags.changed",
    ]
    assert mine[0][1]["assignee"]["to"] == ws.agent_id
    assert mine[2][1] == {"from": "open", "to": "resolved"}
    page = await client.get(base)
    assert page.text.count('class="msg msg-system msg-event"') == 4
    assert "상태를 &#39;해결됨&#39;으로 바꿨습니다" in page.text
    timeline = (await client.get(f"{base}/timeline?after_seq=99&after_event=0")).json()
    assert len(timeline["events"]) == 4 and timeline["last_event_id"] == log[-1].id


async def test_another_workspace_is_not_found(live_server, make_workspace):
    ws_a, ws_b = await make_workspace(), await make_workspace()
    conv_a, contact_a = await seed_conversation(ws_a, text="A의 비밀")
    client_b = await console_client(live_server, ws_b.agent_email, ws_b.agent_password)
    gets = [
        f"/console/conversations/{conv_a}",
        f"/console/conversations/{conv_a}/timeline",
        f"/console/conversations/{conv_a}/actions",
        f"/console/contacts/{contact_a}",
        f"/console/settings/inboxes/{ws_a.inbox_id}",
    ]
    for path in gets:
        r = await client_b.get(path)
        assert r.status_code == 404, path
        assert "A의 비밀" not in r.text
    posts = [
        (f"/console/conversations/{conv_a}/messages", {"content": "침입"}),
        (f"/console/conversations/{conv_a}/status", {"status": "resolved"}),
        (f"/console/conversations/{conv_a}/assign", {"assignee": "me"}),
        (f"/console/conversations/{conv_a}/tags", {"tags": "x"}),
        (f"/console/contacts/{contact_a}", {"name": "바뀐 이름"}),
        (f"/console/settings/inboxes/{ws_a.inbox_id}", {"name": "탈취", "color": "#000000"}),
    ]
    for path, data in posts:
        assert (await post(client_b, path, data)).status_code == 404, path
    # B cannot assign its conversation to A's agent either.
    conv_b, _ = await seed_conversation(ws_b)
    r = await post(client_b, f"/console/conversations/{conv_b}/assign", {"assignee": str(ws_a.agent_id)})
    assert r.status_code == 404
    assert conv_a not in row_ids((await client_b.get("/console")).text)
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws_a.workspace_id, conversation_id=conv_a)
        assert conv.status.value == "open" and conv.last_seq == 1
    await client_b.aclose()


async def test_message_content_is_escaped(admin):
    ws, client = admin
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    conv_id, _ = await seed_conversation(ws, text=evil, name='<b onmouseover="alert(2)">Mallory</b>')
    page = await client.get(f"/console/conversations/{conv_id}")
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert '<b onmouseover="alert(2)">' not in page.text
    home = await client.get("/console")
    assert "<img src=x" not in home.text and "&lt;img src=x onerror=alert(1)&gt;" in home.text
    # The JSON the console appends from is data; console.js writes it with textContent.
    timeline = await client.get(f"/console/conversations/{conv_id}/timeline")
    assert timeline.json()["messages"][0]["content"] == evil


async def test_contact_panel_edits_basic_fields(admin):
    ws, client = admin
    conv_id, contact_id = await seed_conversation(ws)
    r = await post(
        client,
        f"/console/contacts/{contact_id}",
        {
            "name": "김소담",
            "email": "sodam@example.com",
            "phone": "010-1234-5678",
            "company": "소담상사",
            "language": "ko",
        },
    )
    assert r.status_code == 200 and 'value="김소담"' in r.text and "저장했습니다" in r.text
    bad = await post(client, f"/console/contacts/{contact_id}", {"email": "not-an-email"})
    assert bad.status_code == 422
    page = await client.get(f"/console/conversations/{conv_id}")
    assert "소담상사" in page.text and "010-1234-5678" in page.text
    contacts_page = await client.get("/console/contacts?q=소담")
    assert f'data-contact-id="{contact_id}"' in contacts_page.text


async def test_settings_need_a_settings_permission(live_server, make_workspace):
    ws = await make_workspace()
    _id, email, password = await add_agent(ws, role=Role.agent)
    client = await console_client(live_server, email, password)
    home = await client.get("/console")
    assert 'id="nav-settings"' not in home.text
    for path in ("/console/settings", f"/console/settings/inboxes/{ws.inbox_id}"):
        page = await client.get(path)  # a browser gets a page saying so
        assert page.status_code == 403 and 'id="forbidden"' in page.text
        r = await client.get(path, headers={"Accept": "application/json"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_required"
    for path, data in (
        ("/console/settings/tokens", {"name": "몰래"}),
        (f"/console/settings/inboxes/{ws.inbox_id}", {"name": "x", "color": "#000000"}),
        ("/console/settings/inboxes", {"name": "새 문의함"}),
    ):
        assert (await post(client, path, data)).status_code == 403, path
    await client.aclose()


async def test_api_token_create_list_revoke(admin):
    ws, client = admin
    page = await client.get("/console/settings")
    assert page.status_code == 200 and 'id="token-table"' in page.text
    created = await post(client, "/console/settings/tokens", {"name": "쇼핑몰 연동"})
    assert created.status_code == 201
    import re

    raw = re.search(r'<code id="new-token">([^<]+)</code>', created.text).group(1)
    assert raw.startswith("sdm_") and "쇼핑몰 연동" in created.text
    async with session_scope() as session:
        found = await accounts.authenticate_token(session, raw=raw)
        assert found is not None
        token_id = found[0].id
    again = await client.get("/console/settings")
    assert raw not in again.text and raw[:12] in again.text  # shown once; then only the prefix
    revoked = await post(client, f"/console/settings/tokens/{token_id}/revoke")
    assert revoked.status_code == 200 and "폐기됨" in revoked.text
    async with session_scope() as session:
        assert await accounts.authenticate_token(session, raw=raw) is None


async def test_inbox_settings_and_embed_snippet(admin, live_server):
    ws, client = admin
    page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
    assert page.status_code == 200
    assert (
        f"&lt;script src=&#34;{live_server.url}/static/widget.js&#34; data-sodam-inbox=&#34;{ws.inbox_token}&#34; async&gt;&lt;/script&gt;"
        in page.text
    )
    r = await post(
        client,
        f"/console/settings/inboxes/{ws.inbox_id}",
        {
            "name": "쇼핑몰 채팅",
            "allowed_origins": "https://Shop.example.com/\nhttp://localhost:3000",
            "color": "#FF8800",
            "prechat_form": "1",
            "calls_request": "1",
            "calls_per_slot": "2",
        },
    )
    assert r.status_code == 200 and "저장했습니다" in r.text
    assert 'id="call-settings"' in r.text and "고객이 위젯에서 통화를 요청하거나 예약할 수 있습니다" in r.text
    bad = await post(
        client,
        f"/console/settings/inboxes/{ws.inbox_id}",
        {"name": "x", "allowed_origins": "shop.example.com", "color": "#000000"},
    )
    assert bad.status_code == 422 and "올바른 허용 도메인이 아닙니다" in bad.text
    from sodam.channels import service as inboxes

    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
    assert inbox.name == "쇼핑몰 채팅"
    assert inbox.allowed_origins == ["https://shop.example.com", "http://localhost:3000"]
    assert inbox.settings["color"] == "#ff8800" and inbox.settings["prechat_form"] is True
    assert inbox.settings["calls_request"] is True and inbox.settings["calls_per_slot"] == 2


async def test_agent_locale_switches_the_console_to_english(admin):
    ws, client = admin
    conv_id, _ = await seed_conversation(ws)
    r = await client.post(
        "/console/preferences/locale",
        data={"locale": "en", "next": "/console", "csrf_token": csrf_of(client)},
    )
    assert r.status_code == 303
    page = await client.get(f"/console/conversations/{conv_id}")
    assert 'lang="en"' in page.text
    for word in ("Inbox", "Contacts", "Settings", "Private note", "Assign to me", "Resolve", "Unassigned"):
        assert word in page.text, word
    assert "받은 문의함" not in page.text
    await client.post("/console/preferences/locale", data={"locale": "ko", "csrf_token": csrf_of(client)})
    page = await client.get(f"/console/conversations/{conv_id}")
    for word in ("받은 문의함", "내부 메모", "내게 배정", "해결", "미배정", "고객 응답 대기"):
        assert word in page.text, word


async def test_contact_pages_render_in_both_languages(admin):
    ws, client = admin
    conv_id, contact_id = await seed_conversation(ws, name="박고객")
    listing = await client.get("/console/contacts")
    assert listing.status_code == 200 and "박고객" in listing.text
    page = await client.get(f"/console/contacts/{contact_id}")
    assert page.status_code == 200
    assert f'data-conversation-id="{conv_id}"' in page.text and "진행 중" in page.text
    await client.post("/console/preferences/locale", data={"locale": "en", "csrf_token": csrf_of(client)})
    page = await client.get(f"/console/contacts/{contact_id}")
    assert "Past conversations" in page.text and "Open" in page.text


def test_strings_handed_to_console_js_exist_in_both_catalogs():
    from sodam.accounts.sessions import JS_STRINGS
    from sodam.core.i18n import catalog

    for locale in ("ko", "en"):
        missing = [key for key in JS_STRINGS if key not in catalog(locale)]
        assert not missing, (locale, missing)
