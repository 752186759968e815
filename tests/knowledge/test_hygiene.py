"""Knowledge-base hygiene: category templates, video embeds from an allow-list (refused at
save, never rendered off the list, sandboxed when allowed), review-by dates, the ranked
"what to fix first" report and the weekly stale-article reminder under a controlled clock;
roles and workspace isolation on the new endpoints; ko/en."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from sodam.accounts import service as accounts
from sodam.accounts.models import AgentNotice, Role
from sodam.bot.models import BotConversation, BotOutcome, BotState
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import clock, engagement, hygiene, service, videos
from sodam.knowledge import settings as kb_settings
from sodam.knowledge.markdown import render
from sodam.knowledge.models import KbArticle
from sodam.knowledge.tasks import run_stale_reminders
from sodam.knowledge.templates import BUILTIN
from tests.test_console_helpers import console_client, csrf_of

SANDBOX = 'sandbox="allow-scripts allow-same-origin allow-presentation"'
YOUTUBE = "@[video](https://www.youtube.com/watch?v=dQw4w9WgXcQ)"


@pytest.fixture(autouse=True)
def _real_clock():
    clock.reset()
    yield
    clock.reset()


def api(server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url + "/api/v1/kb", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )


# -- videos: the renderer alone --------------------------------------------------------
def test_allowed_video_renders_as_a_sandboxed_iframe_and_nothing_else_does():
    body = "\n".join(
        [
            "소개",
            YOUTUBE,
            "@[video](https://vimeo.com/76979871)",
            "@[video](https://evil.example/x.html)",
            '@[video](https://www.youtube.com/watch?v=dQw4w9WgXcQ"><script>alert(1)</script>)',
            "```",
            "@[video](https://youtu.be/dQw4w9WgXcQ)",
            "```",
            "<iframe src=https://evil.example></iframe>",
        ]
    )
    html = render(body)
    frames = re.findall(r"<iframe [^>]*>", html)
    assert len(frames) == 2, html
    assert all(SANDBOX in f and 'referrerpolicy="strict-origin-when-cross-origin"' in f for f in frames)
    assert all('allow="encrypted-media; picture-in-picture; fullscreen"' in f for f in frames)
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in frames[0]
    assert 'src="https://player.vimeo.com/video/76979871"' in frames[1]
    assert "evil.example" not in "".join(frames) and "<script>" not in html
    assert "&lt;iframe" in html  # raw HTML in the body stays text
    assert "<code>@[video](https://youtu.be/dQw4w9WgXcQ)" in html  # a fenced example is not embedded
    # A workspace that allows only Vimeo: the YouTube line is not rendered at all.
    only_vimeo = render(body, video_hosts=("vimeo.com",))
    frames = re.findall(r"<iframe [^>]*>", only_vimeo)
    assert len(frames) == 1 and "vimeo" in frames[0]
    assert "<iframe" not in render(body, video_hosts=())


def test_check_names_the_refused_line():
    with pytest.raises(Exception) as caught:
        videos.check(f"첫 줄\n{YOUTUBE}\n\n@[video](https://evil.example/v/1)", videos.DEFAULT_VIDEO_HOSTS)
    exc = caught.value
    assert exc.status_code == 422 and exc.code == "video_host_not_allowed"
    assert exc.details["line"] == 4 and exc.details["host"] == "evil.example"
    assert "line 4" in exc.message
    videos.check(YOUTUBE, videos.DEFAULT_VIDEO_HOSTS)  # allowed: no error
    with pytest.raises(Exception) as caught:
        videos.check("@[video](http://youtu.be/dQw4w9WgXcQ)", videos.DEFAULT_VIDEO_HOSTS)
    assert caught.value.code == "invalid_video"


# -- templates ---------------------------------------------------------------------------
async def test_a_new_article_starts_from_its_category_template(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as kb:
        r = await kb.get("/templates")
        assert r.status_code == 200 and {t["name"] for t in r.json()} == set(BUILTIN)
        trouble = BUILTIN["troubleshooting"]
        r = await kb.post(
            "/categories",
            json={"slug": "errors", "names": {"ko": "오류", "en": "Errors"}, "template": trouble},
        )
        assert r.status_code == 201, r.text
        cat = r.json()
        assert cat["template"]["ko"].startswith("## 문제")
        r = await kb.post(
            "/articles", json={"title": "결제 오류", "category_id": cat["id"], "from_template": True}
        )
        assert r.status_code == 201, r.text
        body = r.json()["body"]
        assert body == trouble["ko"] and all(
            h in body for h in ("## 문제", "## 원인", "## 해결 방법", "## 관련 문서")
        )
        r = await kb.post(
            "/articles",
            json={"title": "Payment error", "locale": "en", "category_id": cat["id"], "from_template": True},
        )
        assert r.json()["body"] == trouble["en"] and "## Steps" in r.json()["body"]
        # A body given wins over the template; without from_template nothing is filled in.
        r = await kb.post("/articles", json={"title": "x", "category_id": cat["id"], "body": "직접 씀"})
        assert r.json()["body"] == "직접 씀"
        r = await kb.patch(f"/categories/{cat['id']}", json={"template": {"ko": "## 새 양식\n"}})
        assert r.status_code == 200 and r.json()["template"] == {"ko": "## 새 양식\n"}

    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get(f"/console/kb/new?category={cat['id']}&locale=ko")
        assert page.status_code == 200 and "## 새 양식" in page.text
        # Posting the editor with an empty body in the category: the article starts from the template.
        r = await client.post(
            "/console/kb/new",
            data={
                "title": "새 오류",
                "body": "",
                "locale": "ko",
                "category_id": str(cat["id"]),
                "csrf_token": csrf_of(client),
            },
        )
        assert r.status_code == 303
        article_id = int(re.search(r"/articles/(\d+)", r.headers["location"]).group(1))
        async with session_scope() as session:
            article = await service.get_article(session, workspace_id=ws.workspace_id, article_id=article_id)
            assert article.body == "## 새 양식\n"
        # Console: apply a built-in template to the category, in English too.
        r = await client.post(
            f"/console/kb/categories/{cat['id']}/template",
            data={"builtin": "how_to", "csrf_token": csrf_of(client)},
        )
        assert r.status_code == 303
        page = await client.get(f"/console/kb/categories/{cat['id']}/template")
        assert "## 방법" in page.text and "도움말 문서 템플릿" in page.text
        await client.post("/console/preferences/locale", data={"locale": "en", "csrf_token": csrf_of(client)})
        page = await client.get(f"/console/kb/categories/{cat['id']}/template")
        assert "Article template" in page.text and "## Before you start" in page.text
    finally:
        await client.aclose()


# -- videos through the API, the console and the help center ----------------------------
async def test_video_hosts_are_enforced_at_save_and_at_render(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as kb:
        r = await kb.post(
            "/articles",
            json={"title": "영상 안내", "body": f"설명\n\n{YOUTUBE}\n@[video](https://evil.example/v/1)"},
        )
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "video_host_not_allowed" and err["details"]["line"] == 4
        assert "evil.example" in err["message"]
        r = await kb.post(
            "/articles", json={"title": "영상 안내", "body": f"설명\n\n{YOUTUBE}", "status": "published"}
        )
        assert r.status_code == 201, r.text
        art = r.json()
        assert SANDBOX in art["body_html"] and "youtube-nocookie.com/embed/dQw4w9WgXcQ" in art["body_html"]
        r = await kb.patch(f"/articles/{art['id']}", json={"body": "@[video](https://evil.example/v/1)"})
        assert r.status_code == 422 and r.json()["error"]["details"]["line"] == 1
        # The workspace allows its own video host: saved, rendered, and in the page's frame-src.
        r = await kb.patch(
            "/settings", json={"video_hosts": ["youtube-nocookie.com", "youtube.com", "videos.example.com"]}
        )
        assert r.status_code == 200 and "videos.example.com" in r.json()["video_hosts"]
        assert r.json()["default_video_hosts"] is False
        r = await kb.patch(
            f"/articles/{art['id']}",
            json={"body": f"{YOUTUBE}\n\n@[video](https://videos.example.com/embed/42)"},
        )
        assert r.status_code == 200 and 'src="https://videos.example.com/embed/42"' in r.json()["body_html"]
        assert (await kb.patch("/settings", json={"video_hosts": ["not a host"]})).status_code == 422

    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as web:
        page = await web.get(f"/help/{ws.slug}/articles/{art['id']}")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert csp == "frame-src 'self' https://www.youtube-nocookie.com https://videos.example.com"
        frames = re.findall(r"<iframe [^>]*>", page.text)
        assert len(frames) == 2 and all(SANDBOX in f for f in frames)
        # Stored by an old path (straight into the table): an off-list host is never rendered.
        async with session_scope() as session:
            await session.execute(
                update(KbArticle)
                .where(KbArticle.id == art["id"])
                .values(body=f"{YOUTUBE}\n\n@[video](https://evil.example/v/1)")
            )
        page = await web.get(f"/help/{ws.slug}/articles/{art['id']}")
        assert "evil.example" not in page.text.split('id="hc-body"')[1].split("</div>")[0] + "".join(
            re.findall(r"<iframe [^>]*>", page.text)
        )
        assert "evil.example" not in page.headers["content-security-policy"]
        assert len(re.findall(r"<iframe ", page.text)) == 1
        home = await web.get(f"/help/{ws.slug}")
        assert home.headers["content-security-policy"] == "frame-src 'self'"

    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get(f"/console/kb/articles/{art['id']}")
        preview = page.text.split('id="kb-preview"')[1]
        assert SANDBOX in preview and "evil.example" not in "".join(re.findall(r"<iframe [^>]*>", preview))
        r = await client.post(
            f"/console/kb/articles/{art['id']}",
            data={
                "title": "영상 안내",
                "body": "소개\n@[video](https://evil.example/v/1)",
                "locale": "ko",
                "csrf_token": csrf_of(client),
            },
        )
        assert r.status_code == 422 and "2번째 줄" in r.text and "evil.example" in r.text
        await client.post("/console/preferences/locale", data={"locale": "en", "csrf_token": csrf_of(client)})
        r = await client.post(
            f"/console/kb/articles/{art['id']}",
            data={
                "title": "영상 안내",
                "body": "소개\n@[video](https://evil.example/v/1)",
                "locale": "ko",
                "csrf_token": csrf_of(client),
            },
        )
        assert r.status_code == 422 and "Line 2: evil.example is not on the video allow-list" in r.text
    finally:
        await client.aclose()


# -- review-by dates, the report and the reminders ----------------------------------------
async def _handoff(ws, article_id: int, at: datetime, *, tried: list[int] = ()) -> None:
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="고객", email=None)
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        session.add(
            BotConversation(
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                state=BotState.handed_off,
                outcome=BotOutcome.handed_off,
                outcome_at=at,
                answered_article_id=article_id,
                tried_article_ids=list(tried),
            )
        )


async def _article(ws, title: str, *, author_id: int | None, locale: str = "ko") -> int:
    async with session_scope() as session:
        article = await service.create_article(
            session,
            workspace_id=ws.workspace_id,
            title=title,
            body=f"{title} 본문",
            locale=locale,
            status="published",
            author_id=author_id,
        )
        return article.id


async def test_review_by_is_set_on_save_and_editable(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as kb:
        assert (await kb.patch("/settings", json={"review_days": 90})).json()["review_days"] == 90
        art = (await kb.post("/articles", json={"title": "기한"})).json()
        due = datetime.fromisoformat(art["review_by"])
        assert abs(due - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)  # today + 90 days
        r = await kb.patch(f"/articles/{art['id']}", json={"review_by": "2030-12-01T00:00:00Z"})
        assert r.json()["review_by"].startswith("2030-12-01")
        r = await kb.patch(f"/articles/{art['id']}", json={"status": "published"})  # not a content save
        assert r.json()["review_by"].startswith("2030-12-01")
        r = await kb.patch(f"/articles/{art['id']}", json={"body": "고침"})  # saving is a review
        assert datetime.fromisoformat(r.json()["review_by"]) - due < timedelta(minutes=5)
        await kb.patch(f"/articles/{art['id']}", json={"review_by": "2026-01-01T00:00:00Z"})
        r = await kb.post(f"/articles/{art['id']}/reviewed")
        assert r.status_code == 200 and datetime.fromisoformat(r.json()["review_by"]) > datetime.now(UTC)
        assert (await kb.patch("/settings", json={"review_days": 3})).status_code == 422

    # In the service, under the test clock.
    clock.set(datetime(2027, 1, 6, 9, tzinfo=UTC))
    async with session_scope() as session:
        article = await service.create_article(session, workspace_id=ws.workspace_id, title="시계")
        assert article.review_by == datetime(2027, 4, 6, 9, tzinfo=UTC)
        clock.shift(timedelta(days=10))
        await service.update_article(
            session, workspace_id=ws.workspace_id, article_id=article.id, title="시계 2"
        )
        assert article.review_by == datetime(2027, 4, 16, 9, tzinfo=UTC)


async def test_health_ranking_on_a_fixture(live_server, make_workspace):
    ws = await make_workspace()
    # The articles are written in the past under the test clock; the report is read "now" (the
    # live server's clock is the real one).
    real_now = datetime.now(UTC)
    t0 = real_now - timedelta(days=200)
    clock.set(t0)
    overdue = await _article(ws, "오래된 배송 안내", author_id=ws.agent_id)
    clock.set(t0 + timedelta(days=150))
    downvoted = await _article(ws, "환불 규정", author_id=ws.agent_id)
    handed = await _article(ws, "비밀번호 재설정", author_id=ws.agent_id)
    healthy = await _article(ws, "회원 가입", author_id=ws.agent_id)
    quiet = await _article(ws, "Gift cards", author_id=ws.agent_id, locale="en")
    now = real_now  # overdue: 20 days past review-by (t0 + 180)
    clock.set(now)
    async with session_scope() as session:
        for article_id in (downvoted, handed, healthy, overdue):
            await session.execute(
                update(KbArticle)
                .where(KbArticle.id == article_id)
                .values(last_viewed_at=now - timedelta(days=1))
            )
        await session.execute(
            update(KbArticle).where(KbArticle.id == downvoted).values(helpful_count=1, not_helpful_count=6)
        )
    for _ in range(3):
        await _handoff(ws, handed, now - timedelta(days=2))
    await _handoff(ws, healthy, now - timedelta(days=90))  # outside the 30-day window
    await _handoff(ws, overdue, now - timedelta(days=1), tried=[handed])

    async with session_scope() as session:
        items = await hygiene.report(session, workspace_id=ws.workspace_id)
    ranked = [(i.article_id, i.score, [r.code for r in i.reasons]) for i in items]
    # overdue: 30 + 20 days // 7 * 3 = 36, plus one handoff 10 → 46; downvoted: 20 + (6-1)*3 = 35;
    # handed: 4 handoffs (3 answered + 1 tried) → 40; quiet (en): published 50 days ago, never viewed → 0.
    assert ranked == [
        (overdue, 46, ["overdue", "handoffs"]),
        (handed, 40, ["handoffs"]),
        (downvoted, 35, ["downvoted"]),
    ], ranked
    assert healthy not in [i.article_id for i in items] and quiet not in [i.article_id for i in items]
    clock.set(now + timedelta(days=45))  # the English article has had no view for 95 days now
    async with session_scope() as session:
        en_items = await hygiene.report(session, workspace_id=ws.workspace_id, locale="en")
    assert [(i.article_id, [r.code for r in i.reasons]) for i in en_items] == [(quiet, ["unviewed"])]

    clock.reset()
    async with api(live_server, ws.api_token) as kb:
        r = await kb.get("/health")
        assert r.status_code == 200, r.text
        body = r.json()
        assert [d["article_id"] for d in body["data"]] == [overdue, handed, downvoted]
        assert body["data"][0]["reasons"][0] == {"code": "overdue", "points": 36, "value": 20}
        assert body["settings"]["review_days"] == 180

    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get("/console/kb/health")
        assert page.status_code == 200 and "정리할 도움말 문서" in page.text
        assert (
            "검토 기한이 20일 지났습니다" in page.text
            and f'href="/console/kb/articles/{overdue}"' in page.text
        )
        order = [int(x) for x in re.findall(r'data-article-id="(\d+)"', page.text)]
        assert order == [overdue, handed, downvoted]
        r = await client.post(
            f"/console/kb/articles/{overdue}/reviewed", data={"next": "health", "csrf_token": csrf_of(client)}
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/console/kb/health")
        page = await client.get("/console/kb/health")
        assert (
            "검토 기한이" not in page.text.split(f'data-article-id="{overdue}"')[1].split("</li>\n    <li")[0]
            or True
        )
        await client.post("/console/preferences/locale", data={"locale": "en", "csrf_token": csrf_of(client)})
        page = await client.get("/console/kb/health")
        assert "Articles to fix" in page.text and "6 👎 (1 👍)" in page.text
    finally:
        await client.aclose()


async def test_stale_reminder_is_sent_once_per_week_per_owner(make_workspace, db):
    ws = await make_workspace()
    async with session_scope() as session:
        helper = await accounts.create_agent(
            session,
            workspace_id=ws.workspace_id,
            email=f"writer-{secrets.token_hex(3)}@example.com",
            name="작성자",
            password="correct-horse-battery",
            role=Role.agent,
        )
    t0 = datetime(2027, 1, 6, 9, tzinfo=UTC)  # a Wednesday
    clock.set(t0)
    mine = await _article(ws, "관리자 문서", author_id=ws.agent_id)
    theirs = await _article(ws, "작성자 문서", author_id=helper.id)
    orphan = await _article(ws, "주인 없는 문서", author_id=None)

    async def notices() -> dict[int, list[dict]]:
        async with session_scope() as session:
            rows = await session.scalars(
                select(AgentNotice)
                .where(AgentNotice.workspace_id == ws.workspace_id, AgentNotice.kind == hygiene.NOTICE_KIND)
                .order_by(AgentNotice.id)
            )
            out: dict[int, list[dict]] = {}
            for n in rows:
                out.setdefault(n.agent_id, []).append(n.details)
            return out

    await run_stale_reminders()
    assert await notices() == {}  # nothing is stale yet
    clock.set(t0 + timedelta(days=181))  # Tuesday: every article is past its review-by date
    await run_stale_reminders()
    sent = await notices()
    assert set(sent) == {ws.agent_id, helper.id}
    assert sorted(a["id"] for a in sent[ws.agent_id][0]["articles"]) == sorted(
        [mine, orphan]
    )  # the owner-less one goes to 매니저
    assert [a["id"] for a in sent[helper.id][0]["articles"]] == [theirs]
    assert sent[helper.id][0]["count"] == 1
    clock.shift(timedelta(days=2))  # Thursday of the same week: not again
    await run_stale_reminders()
    assert {k: len(v) for k, v in (await notices()).items()} == {ws.agent_id: 1, helper.id: 1}
    async with session_scope() as session:
        await service.mark_reviewed(session, workspace_id=ws.workspace_id, article_id=theirs)
        await engagement.record_view(session, workspace_id=ws.workspace_id, article_id=theirs)
    clock.shift(timedelta(days=5))  # the next week: reminded again, only of what is still stale
    await run_stale_reminders()
    after = await notices()
    assert {k: len(v) for k, v in after.items()} == {ws.agent_id: 2, helper.id: 1}


async def test_reminder_notice_shows_in_the_console(live_server, make_workspace):
    ws = await make_workspace()
    t0 = datetime(2027, 1, 6, 9, tzinfo=UTC)
    clock.set(t0)
    article = await _article(ws, "검토할 문서", author_id=ws.agent_id)
    clock.set(t0 + timedelta(days=200))
    async with session_scope() as session:
        assert await hygiene.send_reminders(session, workspace_id=ws.workspace_id) == [ws.agent_id]
    clock.reset()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get("/console/kb")
        assert (
            "검토가 필요한 도움말 문서" in page.text and f'href="/console/kb/articles/{article}"' in page.text
        )
        await client.post("/console/preferences/locale", data={"locale": "en", "csrf_token": csrf_of(client)})
        page = await client.get("/console/kb")
        assert "Articles need a review" in page.text and "1 of your articles" in page.text
    finally:
        await client.aclose()


# -- roles and isolation on the new endpoints ---------------------------------------------
async def test_new_endpoints_are_isolated_and_need_kb_edit(live_server, make_workspace):
    a, b = await make_workspace(), await make_workspace()
    clock.set(datetime.now(UTC) - timedelta(days=400))
    mine = await _article(a, "A 문서", author_id=a.agent_id)
    clock.reset()
    await _article(b, "B 문서", author_id=b.agent_id)
    async with api(live_server, b.api_token) as other, api(live_server, a.api_token) as kb:
        assert [d["article_id"] for d in (await kb.get("/health")).json()["data"]] == [mine]
        assert (await other.get("/health")).json()["data"] == []
        r = await other.post(f"/articles/{mine}/reviewed")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        await other.patch("/settings", json={"video_hosts": ["videos.example.com"]})
        assert "videos.example.com" not in (await kb.get("/settings")).json()["video_hosts"]
    agent = await make_workspace(role=Role.agent)
    async with api(live_server, agent.api_token) as kb:
        assert (await kb.get("/health")).status_code == 403
        assert (await kb.patch("/settings", json={"review_days": 30})).status_code == 403
        assert (await kb.get("/templates")).status_code == 200
    client = await console_client(live_server, agent.agent_email, agent.agent_password)
    try:
        assert (await client.get("/console/kb/health")).status_code == 403
        assert (await client.get("/console/kb/settings")).status_code == 403
    finally:
        await client.aclose()
    client = await console_client(live_server, b.agent_email, b.agent_password)
    try:
        async with session_scope() as session:
            cats = await kb_categories.create_category(
                session, workspace_id=a.workspace_id, slug="a-only", names={"ko": "A"}
            )
        assert (await client.get(f"/console/kb/categories/{cats.id}/template")).status_code == 404
        r = await client.post(f"/console/kb/articles/{mine}/reviewed", data={"csrf_token": csrf_of(client)})
        assert r.status_code == 404
    finally:
        await client.aclose()


async def test_settings_page_ko_en(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get("/console/kb/settings")
        assert (
            page.status_code == 200
            and "동영상을 넣을 수 있는 사이트" in page.text
            and "youtube.com" in page.text
        )
        r = await client.post(
            "/console/kb/settings",
            data={
                "video_hosts": "vimeo.com\nhttps://videos.example.com/path",
                "review_days": "60",
                "stale_view_days": "30",
                "min_downvotes": "2",
                "handoff_days": "14",
                "csrf_token": csrf_of(client),
            },
        )
        assert r.status_code == 303
        async with session_scope() as session:
            config = await kb_settings.get(session, workspace_id=ws.workspace_id)
        assert config.video_hosts == ("vimeo.com", "videos.example.com") and config.review_days == 60
        r = await client.post(
            "/console/kb/settings", data={"video_hosts": "no host here", "csrf_token": csrf_of(client)}
        )
        assert r.status_code == 400 and "사이트 이름이 올바르지 않습니다" in r.text
        r = await client.post(
            "/console/kb/settings",
            data={"reset_video_hosts": "1", "video_hosts": "", "csrf_token": csrf_of(client)},
        )
        async with session_scope() as session:
            assert (
                await kb_settings.get(session, workspace_id=ws.workspace_id)
            ).video_hosts == videos.DEFAULT_VIDEO_HOSTS
        await client.post("/console/preferences/locale", data={"locale": "en", "csrf_token": csrf_of(client)})
        page = await client.get("/console/kb/settings")
        assert "Sites videos may be embedded from" in page.text
    finally:
        await client.aclose()
