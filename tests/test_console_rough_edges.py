"""Rough edges a new team met in its first hour (issue 9), each reproduced over HTTP."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from tests.test_console_helpers import console_client, csrf_of, post, seed_conversation


@pytest.fixture
async def admin(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    yield ws, client
    await client.aclose()


def snippet_src(page: str) -> str:
    code = re.search(r'<code id="embed-snippet">(.*?)</code>', page, re.S)
    assert code, "no snippet on the page"
    return re.search(r'src="([^"]+)"', html.unescape(code.group(1))).group(1)


async def test_snippet_uses_the_address_the_server_runs_on(server_factory, make_workspace):
    # Started on another port than SODAM_PORT says (uvicorn --port ..., a container's mapping).
    server = server_factory(extra_env={"SODAM_PORT": "8000"})
    ws = await make_workspace()
    client = await console_client(server, ws.agent_email, ws.agent_password)
    page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
    await client.aclose()
    assert page.status_code == 200
    assert snippet_src(page.text) == f"{server.url}/static/widget.js"


async def test_snippet_uses_the_public_url_when_set(server_factory, make_workspace):
    server = server_factory(extra_env={"SODAM_PUBLIC_URL": "https://chat.example.com/"})
    ws = await make_workspace()
    client = await console_client(server, ws.agent_email, ws.agent_password)
    page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
    config = await client.get(f"/widget/v1/{ws.inbox_token}/config")
    await client.aclose()
    assert snippet_src(page.text) == "https://chat.example.com/static/widget.js"
    assert config.json()["privacy_url"].startswith(f"https://chat.example.com/help/{ws.slug}/privacy")


async def test_install_instruction_shows_the_body_tag(admin):
    ws, client = admin
    for locale, words in (("ko", "바로 앞에"), ("en", "just before")):
        await client.post(
            "/console/preferences/locale",
            data={"locale": locale, "next": "/console", "csrf_token": csrf_of(client)},
        )
        page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
        line = re.search(r'<p class="muted">([^<]*' + words + r"[^<]*)</p>", page.text)
        assert line, f"{locale}: instruction not found or cut by a raw tag"
        assert "&lt;/body&gt;" in line.group(1)


def kst(value) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d %H:%M")


async def test_times_are_shown_in_korea_time_everywhere(admin):
    from sodam.accounts import service as accounts
    from sodam.conversations import service as conversations
    from sodam.db.session import session_scope
    from sodam.knowledge import service as kb

    ws, client = admin
    conversation_id, _contact = await seed_conversation(ws)
    async with session_scope() as session:
        article = await kb.create_article(
            session, workspace_id=ws.workspace_id, title="배송 안내", body="본문"
        )
        article_id, updated = article.id, article.updated_at
        token = (await accounts.list_api_tokens(session, workspace_id=ws.workspace_id))[0]
        message = (
            await conversations.messages_after(
                session, workspace_id=ws.workspace_id, conversation_id=conversation_id
            )
        )[0]
    assert kst(updated) != updated.strftime("%Y-%m-%d %H:%M")  # the two zones always differ
    kb_list = await client.get("/console/kb")
    assert re.search(rf'data-article-id="{article_id}".*?<td>{kst(updated)}</td>', kb_list.text, re.S)
    editor = await client.get(f"/console/kb/articles/{article_id}")
    assert kst(updated) in editor.text
    settings = await client.get("/console/settings")
    assert re.search(rf'data-token-id="{token.id}".*?<td>{kst(token.created_at)}</td>', settings.text, re.S)
    conversation = await client.get(f"/console/conversations/{conversation_id}")
    shown = re.search(r"<time datetime=\"[^\"]+\">([^<]+)</time>", conversation.text).group(1)
    assert shown == kst(message.created_at)[11:]
    assert 'data-time-zone="Asia/Seoul"' in conversation.text  # what console.js formats live messages in


async def test_empty_lists_are_a_sentence_not_a_numbered_item(admin):
    ws, client = admin
    gaps = await client.get("/console/kb/gaps")
    assert gaps.status_code == 200
    assert not re.search(r"<ol[^>]*>\s*<li[^>]*>[^<]*(아직 없습니다|Nothing)", gaps.text)
    assert 'id="kb-most-searched-empty"' in gaps.text and 'id="kb-most-viewed-empty"' in gaps.text
    async with httpx.AsyncClient(base_url=client.base_url) as public:
        home = await public.get(f"/help/{ws.slug}", params={"lang": "ko"})
    assert home.status_code == 200 and "아직 없습니다." in home.text
    assert not re.search(r"<ol[^>]*>\s*<li[^>]*>\s*아직 없습니다", home.text)


async def test_category_rows_have_one_cell_per_header(admin):
    from sodam.db.session import session_scope
    from sodam.knowledge import categories as kb

    ws, client = admin
    async with session_scope() as session:
        await kb.create_category(
            session, workspace_id=ws.workspace_id, slug="shipping", names={"ko": "배송", "en": "Shipping"}
        )
    page = await client.get("/console/kb/categories")
    table = re.search(r'<table[^>]*id="kb-categories".*?</table>', page.text, re.S).group(0)
    headers = re.findall(r"<th[ >]", table)
    row = re.search(r"<tr data-category-id=.*?</tr>", table, re.S).group(0)
    cells = re.findall(r"<td[ >]", row)
    assert "colspan" not in row
    assert len(cells) == len(headers) == 5
    # The inputs still post with the row's form.
    form_id = re.search(r'<form method="post" action="/console/kb/categories/\d+" id="([^"]+)"', row).group(1)
    assert len(re.findall(rf'form="{form_id}"', row)) == 3


async def test_event_lines_read_naturally_in_korean_and_english(admin, live_server):
    ws, client = admin
    conversation_id, _contact = await seed_conversation(ws)
    await post(client, f"/console/conversations/{conversation_id}/assign", {"assignee": "me"})
    await post(client, f"/console/conversations/{conversation_id}/status", {"status": "pending"})
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {ws.api_token}"}
    ) as api:
        r = await api.patch(f"/api/v1/conversations/{conversation_id}", json={"priority": "high"})
        assert r.status_code == 200, r.text

    def event_lines(page: str) -> list[str]:
        return re.findall(r'data-event-id="\d+"><div class="msg-body">([^<]+)</div>', page)

    me = f"상담원 {ws.slug}"
    ko = event_lines((await client.get(f"/console/conversations/{conversation_id}")).text)
    assert ko == [
        f"{me}님이 직접 맡았습니다",
        f"{me}님이 상태를 &#39;고객 응답 대기&#39;로 바꿨습니다",
        f"{me}님이 우선순위를 &#39;높음&#39;으로 바꿨습니다",
    ], ko
    await client.post("/console/preferences/locale", data={"locale": "en", "csrf_token": csrf_of(client)})
    en = event_lines((await client.get(f"/console/conversations/{conversation_id}")).text)
    assert en == [
        f"{me} took this conversation",
        f"{me} changed the status to Pending",
        f"{me} set the priority to High",
    ], en


async def test_every_page_links_a_favicon_that_exists(admin, live_server):
    ws, client = admin
    async with httpx.AsyncClient(base_url=live_server.url) as anonymous:
        pages = {
            "login": await anonymous.get("/console/login"),
            "help center": await anonymous.get(f"/help/{ws.slug}"),
            "widget demo": await anonymous.get("/widget/demo", params={"inbox": ws.inbox_token}),
            "inbox": await client.get("/console"),
            "knowledge base": await client.get("/console/kb"),
            "settings": await client.get("/console/settings"),
        }
        for name, page in pages.items():
            assert page.status_code == 200, name
            link = re.search(r'<link rel="icon" href="([^"]+)"', page.text)
            assert link, f"{name}: no favicon link"
            icon = await anonymous.get(link.group(1))
            assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml"), name
        conventional = await anonymous.get("/favicon.ico", follow_redirects=True)
        assert conventional.status_code == 200 and b"<svg" in conventional.content


async def test_my_open_count_is_the_same_on_every_page(live_server, make_workspace):
    """ "진행 중인 내 대화" read 1 on the inbox and 0 on pages that did not compute it."""
    from tests.test_console_helpers import console_client, seed_conversation

    ws = await make_workspace()
    await seed_conversation(ws, assignee_id=ws.agent_id)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        inbox = await client.get("/console")
        assert '<b id="open-count">1</b>' in inbox.text
        kb = await client.get("/console/kb")
        assert 'hx-get="/console/open-count"' in kb.text  # filled in on load, not a stale 0
        count = await client.get("/console/open-count")
        assert count.status_code == 200 and count.text == "1"
    finally:
        await client.aclose()
