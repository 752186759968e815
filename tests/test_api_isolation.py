"""Workspace isolation: a token of workspace A sees nothing of workspace B and touches nothing of it.

Every id of B - in a path, a filter or a body - is answered exactly like an id that
does not exist (404), so A cannot even learn that B's rows exist. The endpoint list
comes from the OpenAPI schema, so a new endpoint on these resources is probed without
editing this test.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

import websockets

from sodam.accounts import service as accounts
from sodam.accounts import signins
from sodam.automations import service as automations
from sodam.calls.models import WebCall
from sodam.campaigns import announcements
from sodam.campaigns import service as campaigns
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType, Status
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import service as knowledge
from sodam.pagehelp import service as pagehelp
from sodam.segments import service as segments
from sodam.sla import service as sla
from sodam.training import service as training
from tests.frames import bearer, next_frame
from tests.test_api_helpers import assert_error, client, seed_conversation, walk

CORE_PREFIXES = tuple(
    f"/api/v1/{r}/"
    for r in (
        "contacts",
        "conversations",
        "inboxes",
        "agents",
        "teams",
        "sla-policies",
        "automations",
        "page-rules",
        "campaigns",
        "announcements",
        "web-calls",
        "training/scenarios",
        "training/attempts",
    )
)
# Paths whose parameter is not a workspace's row (a template's key names the same journey everywhere).
NOT_SCOPED = {"/api/v1/automations/templates/{key}"}

# A valid body for every write endpoint, so a 404 is about the id and not the body.
BODIES = {
    ("post", "/api/v1/contacts"): {"name": "x"},
    ("patch", "/api/v1/contacts/{contact_id}"): {"name": "침입자", "custom_attributes": {"x": 1}},
    ("patch", "/api/v1/conversations/{conversation_id}"): {"status": "resolved", "tags": ["x"]},
    ("post", "/api/v1/conversations/{conversation_id}/messages"): {"content": "침입", "client_id": "iso-1"},
    ("post", "/api/v1/conversations/{conversation_id}/assist"): {"draft": "침입"},
    # Browser calls (docs/calls.md): the conversation or call is looked up in the caller's workspace first.
    ("post", "/api/v1/conversations/{conversation_id}/web-calls"): {
        "kind": "video",
        "scheduled_at": "2099-01-05T10:00:00+09:00",
    },
    ("post", "/api/v1/web-calls/{call_id}/cancel"): {},
    ("post", "/api/v1/conversations/{conversation_id}/cobrowse"): {},
    # multipart upload: the conversation is looked up before the body is read
    ("post", "/api/v1/conversations/{conversation_id}/attachments"): {},
    ("post", "/api/v1/inboxes"): {"name": "x"},
    # The API channel: the inbox is looked up in the caller's workspace first.
    ("post", "/api/v1/inboxes/{inbox_id}/conversations"): {"source_id": "iso", "content": "침입"},
    ("post", "/api/v1/inboxes/{inbox_id}/mentions"): {
        "external_id": "iso",
        "platform": "x",
        "author_handle": "iso",
        "content": "침입",
    },
    ("post", "/api/v1/inboxes/{inbox_id}/conversations/{conversation_id}/messages"): {"content": "침입"},
    ("post", "/api/v1/inboxes/{inbox_id}/conversations/{conversation_id}/attachments"): {},
    ("patch", "/api/v1/inboxes/{inbox_id}"): {"name": "침입자", "allowed_origins": ["https://evil.example"]},
    ("put", "/api/v1/inboxes/{inbox_id}/mail"): {"smtp_host": "evil.example"},
    # KakaoTalk (docs/kakao.md): the inbox or conversation is looked up in the caller's workspace first.
    ("post", "/api/v1/inboxes/{inbox_id}/kakao"): {
        "sender_key": "iso",
        "dealer_url": "https://evil.example",
        "dealer_api_key": "k",
    },
    ("post", "/api/v1/inboxes/{inbox_id}/kakao/templates"): {"code": "ISO", "body": "침입"},
    ("post", "/api/v1/inboxes/{inbox_id}/kakao/templates/sync"): {},
    ("post", "/api/v1/conversations/{conversation_id}/kakao/end"): {},
    ("post", "/api/v1/conversations/{conversation_id}/kakao/alimtalk"): {"template_code": "ISO"},
    ("post", "/api/v1/teams"): {"name": "x"},
    ("post", "/api/v1/agents"): {"email": "x@iso.example", "name": "x", "password": "long-enough-pw"},
    ("patch", "/api/v1/agents/{agent_id}"): {"name": "침입자", "is_active": False},
    ("patch", "/api/v1/teams/{team_id}"): {"name": "침입자", "agent_ids": []},
    ("patch", "/api/v1/kb/categories/{category_id}"): {"names": {"ko": "침입"}},
    ("patch", "/api/v1/kb/articles/{article_id}"): {"title": "침입"},
    ("post", "/api/v1/kb/articles/{article_id}/alternate-questions"): {"text": "침입"},
    ("post", "/api/v1/contacts/{contact_id}/erase"): {},
    ("post", "/api/v1/contacts/{contact_id}/merge"): {"other_id": 1},
    ("post", "/api/v1/agents/{agent_id}/two-factor/reset"): {},
    ("patch", "/api/v1/sla-policies/{policy_id}"): {"name": "침입자", "targets": []},
    # Automations (docs/automations.md): the rule is looked up in the caller's workspace first.
    ("patch", "/api/v1/automations/{rule_id}"): {"name": "침입자", "enabled": True},
    ("post", "/api/v1/automations/{rule_id}/enable"): {},
    ("post", "/api/v1/automations/{rule_id}/disable"): {},
    ("post", "/api/v1/automations/{rule_id}/dry-run"): {},
    ("patch", "/api/v1/page-rules/{rule_id}"): {"name": "침입자", "enabled": False},
    # Campaigns and announcements (docs/campaigns.md): looked up in the caller's workspace first.
    ("patch", "/api/v1/campaigns/{campaign_id}"): {"name": "침입자"},
    ("post", "/api/v1/campaigns/{campaign_id}/schedule"): {"scheduled_at": "2099-01-01T09:00:00"},
    ("post", "/api/v1/campaigns/{campaign_id}/start"): {},
    ("post", "/api/v1/campaigns/{campaign_id}/pause"): {},
    ("post", "/api/v1/campaigns/{campaign_id}/cancel"): {},
    ("patch", "/api/v1/announcements/{announcement_id}"): {"text_ko": "침입"},
    ("post", "/api/v1/announcements/{announcement_id}/clear"): {},
    # The training sandbox (docs/training.md): scenarios and attempts looked up in the caller's workspace.
    ("post", "/api/v1/training/scenarios/{scenario_id}/attempts"): {"speed": 1},
    ("post", "/api/v1/training/attempts/{attempt_id}/replies"): {"content": "침입"},
    ("post", "/api/v1/training/attempts/{attempt_id}/finish"): {"resolved": True},
    ("post", "/api/v1/training/attempts/{attempt_id}/review"): {"comment": "침입"},
}


async def two_workspaces(make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    a_data = await seed_conversation(a, name="에이 고객", messages=2)
    b_data = await seed_conversation(b, name="비밀 고객", text="B의 비밀", messages=2)
    async with session_scope() as session:
        b_team = await accounts.create_team(
            session, workspace_id=b.workspace_id, name="B팀", agent_ids=[b.agent_id]
        )
        a_team = await accounts.create_team(session, workspace_id=a.workspace_id, name="A팀")
        b_category = await kb_categories.create_category(
            session, workspace_id=b.workspace_id, slug="b", names={"ko": "비밀"}
        )
        b_article = await knowledge.create_article(
            session, workspace_id=b.workspace_id, title="B의 문서", alternate_questions=["B의 질문"]
        )
        b_agent = await accounts.get_agent(session, workspace_id=b.workspace_id, agent_id=b.agent_id)
        await signins.start(session, agent=b_agent, ip="10.0.0.2", user_agent="B", second_factor=False)
        (b_session,) = await signins.list_active(session, workspace_id=b.workspace_id, agent_id=b.agent_id)
        b_policy = await sla.seed_default(session, workspace_id=b.workspace_id)
        b_rule = await automations.create(
            session,
            workspace_id=b.workspace_id,
            name="B의 규칙",
            trigger_type="contact.inactive",
            trigger_config={"days": 30},
            steps=[{"type": "tag", "tag": "b"}],
        )
        b_page_rule = await pagehelp.create(
            session, workspace_id=b.workspace_id, name="B의 규칙", pattern="/b/*", message={"ko": "B"}
        )
        b_segment = await segments.create(
            session, workspace_id=b.workspace_id, name="B 고객", filter={"all": []}
        )
        b_campaign = await campaigns.create(
            session,
            workspace_id=b.workspace_id,
            created_by=b.agent_id,
            name="B의 캠페인",
            segment_id=b_segment.id,
            inbox_id=b.inbox_id,
            channel="widget_message",
            body_ko="B의 비밀 문구",
        )
        b_announcement = await announcements.create(session, workspace_id=b.workspace_id, text_ko="B의 공지")
        b_call = WebCall(
            workspace_id=b.workspace_id,
            conversation_id=b_data.conversation_id,
            inbox_id=b.inbox_id,
            contact_id=b_data.contact_id,
            kind="video",
            initiator="contact",
            status="scheduled",
            scheduled_at=datetime(2099, 1, 5, 1, tzinfo=UTC),
        )
        session.add(b_call)
        await session.flush()
        # a second, resolved conversation of B's one contact (the lists test counts B's contacts)
        b_training_conv = await conversations.create(
            session, workspace_id=b.workspace_id, inbox_id=b.inbox_id, contact_id=b_data.contact_id
        )
        await conversations.create_message(
            session,
            conversation=b_training_conv,
            content="B의 연습",
            sender_type=SenderType.contact,
            sender_id=b_data.contact_id,
        )
        await conversations.set_status(
            session,
            workspace_id=b.workspace_id,
            conversation_id=b_training_conv.id,
            status=Status.resolved,
            actor_id=b.agent_id,
        )
        b_scenario = await training.create_scenario(
            session,
            workspace_id=b.workspace_id,
            conversation_id=b_training_conv.id,
            created_by=b.agent_id,
        )
        b_attempt = await training.start_attempt(
            session, workspace_id=b.workspace_id, scenario_id=b_scenario.id, agent_id=b.agent_id
        )
    b_ids = {
        "rule_id": b_rule.id,
        "policy_id": b_policy.id,
        "page_rule_id": b_page_rule.id,  # {rule_id} under /api/v1/page-rules (PATH_IDS)
        "contact_id": b_data.contact_id,
        "conversation_id": b_data.conversation_id,
        "inbox_id": b.inbox_id,
        "agent_id": b.agent_id,
        "team_id": b_team.id,
        "category_id": b_category.id,
        "article_id": b_article.id,
        "question_id": b_article.alternate_questions[0].id,
        "session_id": b_session.id,
        "campaign_id": b_campaign.id,
        "announcement_id": b_announcement.id,
        "call_id": b_call.id,
        "scenario_id": b_scenario.id,
        "attempt_id": b_attempt.id,
    }
    return a, b, a_data, b_data, a_team.id, b_ids


# Path parameters whose name two domains share: {rule_id} is an automation rule's id except
# under these prefixes.
PATH_IDS = {"/api/v1/page-rules": {"rule_id": "page_rule_id"}}


def _id_key(path: str, name: str) -> str:
    for prefix, names in PATH_IDS.items():
        if path.startswith(prefix) and name in names:
            return names[name]
    return name


async def snapshot(server, token: str, ids: dict) -> dict:
    """Everything B can see of its own rows, to compare before and after A's probing."""
    from sodam.conversations.tasks import score_unscored_messages

    # Sentiment is scored by a batch job a moment after each message: score now, so the
    # messages read the same before and after.
    await score_unscored_messages()
    async with client(server, token) as api:
        out = {}
        for path in [
            f"/contacts/{ids['contact_id']}",
            f"/conversations/{ids['conversation_id']}",
            f"/conversations/{ids['conversation_id']}/messages",
            f"/conversations/{ids['conversation_id']}/events",
            f"/inboxes/{ids['inbox_id']}",
            f"/teams/{ids['team_id']}",
            f"/sla-policies/{ids['policy_id']}",
            f"/automations/{ids['rule_id']}",
            f"/page-rules/{ids['page_rule_id']}",
            f"/page-rules/{ids['page_rule_id']}/stats",
            f"/campaigns/{ids['campaign_id']}",
            f"/announcements/{ids['announcement_id']}",
            "/sla-policies",
            "/contacts",
            "/teams",
            f"/training/scenarios/{ids['scenario_id']}",
            "/training/attempts",  # (one attempt's playback moves with the clock: its list row does not)
        ]:
            r = await api.get(path, params={"limit": 100})
            assert r.status_code == 200, r.text
            out[path] = r.json()
        return out


async def test_every_endpoint_404s_for_another_workspaces_ids(live_server, make_workspace):
    a, b, _a_data, _b_data, _a_team, b_ids = await two_workspaces(make_workspace)
    before = await snapshot(live_server, b.api_token, b_ids)
    probed = 0
    async with client(live_server, a.api_token) as api:
        spec = (await api.get(live_server.url + "/openapi.json")).json()
        for path, operations in spec["paths"].items():
            params = re.findall(r"{(\w+)}", path)
            # The core resources; other domains (e.g. /api/v1/kb) keep their own isolation tests.
            if not path.startswith(CORE_PREFIXES) or not params or path in NOT_SCOPED:
                continue
            url = path.removeprefix("/api/v1")
            for name in params:
                url = url.replace("{" + name + "}", str(b_ids[_id_key(path, name)]))
            for method in operations:
                body = BODIES.get((method, path))
                if method in ("post", "patch", "put"):
                    assert body is not None, f"add a body for {method.upper()} {path} to BODIES"
                r = await api.request(method.upper(), url, json=body)
                assert_error(r, 404, "not_found")
                probed += 1
    assert probed >= 12
    assert await snapshot(live_server, b.api_token, b_ids) == before


async def test_filters_and_bodies_with_another_workspaces_ids(live_server, make_workspace):
    a, b, a_data, _b_data, a_team, b_ids = await two_workspaces(make_workspace)
    before = await snapshot(live_server, b.api_token, b_ids)
    async with client(live_server, a.api_token) as api:
        for name in ("inbox_id", "team_id", "contact_id"):
            r = await api.get("/conversations", params={name: b_ids[name]})
            assert_error(r, 404, "not_found")
        cid = a_data.conversation_id
        r = await api.patch(f"/conversations/{cid}", json={"assignee_id": b_ids["agent_id"]})
        assert assert_error(r, 404, "not_found")["details"] == {"field": "assignee_id"}
        r = await api.patch(f"/conversations/{cid}", json={"team_id": b_ids["team_id"]})
        assert assert_error(r, 404, "not_found")["details"] == {"field": "team_id"}
        r = await api.patch(f"/conversations/{cid}", json={"status": "pending", "team_id": b_ids["team_id"]})
        assert_error(r, 404)
        conv = (await api.get(f"/conversations/{cid}")).json()
        assert conv["status"] == "open" and conv["team_id"] is None and conv["assignee_id"] is None
        r = await api.post("/teams", json={"name": "섞인 팀", "agent_ids": [a.agent_id, b_ids["agent_id"]]})
        assert_error(r, 404, "not_found")
        assert "섞인 팀" not in [t["name"] for t in (await api.get("/teams")).json()["data"]]
        # Same-workspace references still work.
        r = await api.patch(f"/conversations/{cid}", json={"assignee_id": a.agent_id, "team_id": a_team})
        assert r.status_code == 200, r.text
    assert await snapshot(live_server, b.api_token, b_ids) == before


async def test_lists_and_search_hold_only_own_rows(live_server, make_workspace):
    a, b, a_data, b_data, a_team, b_ids = await two_workspaces(make_workspace)
    async with client(live_server, a.api_token) as api:
        assert [c["id"] for c in await walk(api, "/contacts", 100)] == [a_data.contact_id]
        assert (await api.get("/contacts", params={"q": "비밀"})).json()["data"] == []
        assert [c["id"] for c in await walk(api, "/conversations", 100)] == [a_data.conversation_id]
        for view in ("mine", "unassigned", "all"):
            rows = await walk(api, "/conversations", 100, view=view)
            assert b_data.conversation_id not in [c["id"] for c in rows]
        assert [i["id"] for i in await walk(api, "/inboxes", 100)] == [a.inbox_id]
        assert [x["id"] for x in await walk(api, "/agents", 100)] == [a.agent_id]
        assert [t["id"] for t in await walk(api, "/teams", 100)] == [a_team]
        assert (await api.get("/sla-policies")).json()["data"] == []  # B has one; A none
    async with client(live_server, b.api_token) as api:
        assert [c["id"] for c in await walk(api, "/contacts", 100)] == [b_data.contact_id]
        assert [t["id"] for t in await walk(api, "/teams", 100)] == [b_ids["team_id"]]


async def test_client_id_is_not_shared_across_workspaces(live_server, make_workspace):
    a, b, a_data, b_data, _a_team, _b_ids = await two_workspaces(make_workspace)
    client_id = str(uuid.uuid4())
    async with client(live_server, a.api_token) as api_a, client(live_server, b.api_token) as api_b:
        ra = await api_a.post(
            f"/conversations/{a_data.conversation_id}/messages", json={"content": "A", "client_id": client_id}
        )
        rb = await api_b.post(
            f"/conversations/{b_data.conversation_id}/messages", json={"content": "B", "client_id": client_id}
        )
        assert ra.status_code == 201 and rb.status_code == 201
        assert ra.json()["id"] != rb.json()["id"] and rb.json()["content"] == "B"


async def test_realtime_socket_carries_only_own_workspace(live_server, make_workspace):
    a, b, a_data, b_data, _a_team, _b_ids = await two_workspaces(make_workspace)
    url = f"{live_server.ws_url}/api/v1/realtime"
    async with websockets.connect(url, **bearer(a.api_token)) as socket:
        hello = await next_frame(socket)
        assert hello["type"] == "hello" and hello["workspace_id"] == a.workspace_id
        async with client(live_server, b.api_token) as api_b, client(live_server, a.api_token) as api_a:
            await api_b.post(f"/conversations/{b_data.conversation_id}/messages", json={"content": "B만"})
            await api_a.post(f"/conversations/{a_data.conversation_id}/messages", json={"content": "A만"})
        seen = []
        async with asyncio.timeout(5):
            while "A만" not in seen:
                frame = await next_frame(socket)
                if frame["type"] == "message":
                    seen.append(frame["message"]["content"])
                if frame["type"] == "conversation":
                    assert frame["conversation"]["id"] != b_data.conversation_id
        assert "B만" not in seen
