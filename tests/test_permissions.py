"""One permission table (accounts/permissions.py), enforced on every route.

Every /api/v1 and /console route declares exactly one permission through its dependency
(api_access / console_access / console); then every such route is called as an admin, a
supervisor and an agent of one workspace, and answers 403 permission_required exactly
when the table says the role lacks the permission. The documented table in docs/api.md
is checked against the code's.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi.routing import APIWebSocketRoute, _IncludedRouter

from sodam.accounts import service as accounts
from sodam.accounts import signins
from sodam.accounts.models import Role
from sodam.accounts.permissions import ROLE_PERMISSIONS, Permission
from sodam.app import create_app
from sodam.attachments import service as attachments
from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import service as knowledge
from sodam.replies import service as replies
from sodam.segments import service as segments
from sodam.sla import service as sla
from sodam.surveys import service as surveys
from sodam.webhooks import service as webhooks
from tests.attachments.files import png
from tests.test_console_helpers import add_agent, console_client, seed_conversation

ROOT = Path(__file__).resolve().parents[1]

# Routes under /api/v1 or /console that need no permission, and why.
PUBLIC = {
    ("GET", "/console/login"): "the sign-in page",
    ("POST", "/console/login"): "signing in (CSRF-checked and throttled)",
    ("GET", "/console/login/verify"): "the second sign-in step (a signed, short-lived challenge)",
    ("POST", "/console/login/verify"): "the second sign-in step",
}
# Sockets authenticate inside the handshake (token, one-use ticket or session cookie);
# the ticket itself comes from POST /api/v1/realtime/ticket, which declares `work`. The
# co-browsing mirror checks `work` and the session's workspace itself (tests/cobrowse).
SOCKETS = {"/api/v1/realtime", "/api/v1/cobrowse/sessions/{cobrowse_id}/stream"}
# Top-level surfaces that are public by design (customers, operators, the docs); /s/ is a
# customer's survey page, whose unguessable link token is the credential.
PUBLIC_PREFIXES = (
    "/widget/",
    "/help/",
    "/s/",
    "/static",
    "/healthz",
    "/docs",
    "/openapi.json",
    "/favicon.ico",
    # The telephony provider's voice webhook: each request is authenticated by its
    # X-Twilio-Signature with the line's auth token (docs/phone.md).
    "/voice/",
    # A KakaoTalk dealer's events: no agent, authenticated by the inbox's HMAC signature (docs/kakao.md).
    "/kakao/v1/",
    # A campaign's tracked links and e-mail open pixel: the signed token names a recipient only.
    "/c/",
)
# Write-method routes a read token may call: issuing a socket ticket and previewing a segment
# change nothing.
READ_SCOPED_WRITES = {
    ("POST", "/api/v1/realtime/ticket"),
    ("POST", "/api/v1/segments/preview"),  # counts an unsaved filter: a read with a body
    ("POST", "/api/v1/conversations/{conversation_id}/assist"),  # suggestions: a read with a body (the draft)
}


@dataclass(frozen=True)
class Declared:
    method: str
    path: str
    rule: frozenset[Permission] | None  # any one of these suffices; None: declares nothing
    scope: str | None
    count: int


def _routes(routes):
    """The real routes, through FastAPI's included-router wrappers (nested includes too)."""
    for route in routes:
        if isinstance(route, _IncludedRouter):
            yield from _routes(route.effective_candidates())
        else:
            yield route


def _permission_dependencies(dependant) -> list:
    """The dependencies carrying `.permission` (not looking inside one: console_access
    builds on `console`, which carries `work` itself)."""
    found = []
    for sub in dependant.dependencies:
        if hasattr(sub.call, "permission"):
            found.append(sub.call)
        else:
            found.extend(_permission_dependencies(sub))
    return found


def declared_routes() -> tuple[list[Declared], list[str]]:
    """(every HTTP route with its declared rule, the paths of every socket route)."""
    out, sockets = [], []
    for route in _routes(create_app().router.routes):
        original = getattr(route, "original_route", route)
        if isinstance(original, APIWebSocketRoute):
            sockets.append(route.path or original.path)
            continue
        dependant = getattr(route, "dependant", None)
        calls = _permission_dependencies(dependant) if dependant is not None else []
        rule = None
        if calls:
            p = calls[0].permission
            rule = p if isinstance(p, frozenset) else frozenset({p})
        for method in sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD"}):  # a Mount: GET
            scope = getattr(calls[0], "scope", None) if calls else None
            out.append(Declared(method, route.path, rule, scope, len(calls)))
    return out, sockets


def guarded(path: str) -> bool:
    return path.startswith(("/api/v1", "/console"))


def test_every_api_and_console_route_declares_exactly_one_permission():
    routes, sockets = declared_routes()
    assert len(routes) > 100  # the walk reached the included routers
    missing, doubled = [], []
    for r in routes:
        if guarded(r.path) and (r.method, r.path) not in PUBLIC:
            if r.count == 0:
                missing.append(f"{r.method} {r.path}")
            elif r.count > 1:
                doubled.append(f"{r.method} {r.path}")
        elif not guarded(r.path):
            assert r.path.startswith(PUBLIC_PREFIXES), (
                f"{r.path}: a new public surface? decide its permission"
            )
    assert missing == [], "routes without a permission dependency"
    assert doubled == [], "routes with more than one permission dependency"
    known = {(r.method, r.path) for r in routes}
    assert set(PUBLIC) <= known, "stale PUBLIC entries"
    assert all(r.count == 0 for r in routes if (r.method, r.path) in PUBLIC)
    assert {p for p in sockets if guarded(p)} == SOCKETS


def test_api_writes_need_the_write_scope():
    routes, _ = declared_routes()
    api = [r for r in routes if r.path.startswith("/api/v1")]
    assert all(r.scope in ("read", "write") for r in api)
    wrong = [
        f"{r.method} {r.path}"
        for r in api
        if r.method in ("POST", "PATCH", "PUT", "DELETE")
        and r.scope != "write"
        and (r.method, r.path) not in READ_SCOPED_WRITES
    ]
    assert wrong == []


def test_supervisors_manage_teams_in_the_api_and_the_console_alike():
    routes, _ = declared_routes()
    team_writes = {
        (r.method, r.path): r.rule
        for r in routes
        if "/teams" in r.path and "/hours/" not in r.path and r.method != "GET"  # hours: hours.manage
    }
    assert len(team_writes) == 6  # 3 API, 3 console
    assert set(team_writes.values()) == {frozenset({Permission.teams_manage})}


# -- the documented table ----------------------------------------------------------------
TABLE_ROW = re.compile(r"^\|\s*`([a-z_.]+)`\s*\|([^|]+)\|([^|]+)\|\s*$")


def documented_table() -> dict[Permission, set[Role]]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("### Roles and permissions", 1)[1].split("\n#", 1)[0]
    table = {}
    for line in section.splitlines():
        match = TABLE_ROW.match(line.strip())
        if match and match.group(1) in {p.value for p in Permission}:
            roles = {Role(name) for name in re.findall(r"\b(admin|supervisor|agent)\b", match.group(2))}
            table[Permission(match.group(1))] = roles
    return table


def test_the_documented_table_is_the_code_table():
    documented = documented_table()
    in_code = {p: {role for role, held in ROLE_PERMISSIONS.items() if p in held} for p in Permission}
    assert documented == in_code


# -- every route, every role -------------------------------------------------------------
@dataclass
class Caller:
    role: Role
    email: str
    password: str
    api: httpx.AsyncClient
    console: httpx.AsyncClient | None = None


async def _sign_in(live_server, caller: Caller) -> None:
    """A console session of its own for the caller (the cookies in a fixed header, so a
    response that clears them changes nothing)."""
    if caller.console is not None:
        await caller.console.aclose()
    signed_in = await console_client(live_server, caller.email, caller.password)
    session_cookie, csrf = signed_in.cookies.get("sodam_session"), signed_in.cookies.get("sodam_csrf")
    await signed_in.aclose()
    caller.console = httpx.AsyncClient(
        base_url=live_server.url,
        headers={
            "Cookie": f"sodam_session={session_cookie}; sodam_csrf={csrf}",
            "X-CSRF-Token": csrf,
            "Accept": "application/json",
        },
    )


async def _caller(live_server, ws, role: Role) -> Caller:
    if role == Role.admin:
        agent_id, email, password = ws.agent_id, ws.agent_email, ws.agent_password
    else:
        agent_id, email, password = await add_agent(ws, role=role)
    async with session_scope() as session:
        _token, raw = await accounts.create_api_token(
            session, workspace_id=ws.workspace_id, agent_id=agent_id, name=f"{role.value} token"
        )
    api = httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {raw}"})
    caller = Caller(role, email, password, api)
    await _sign_in(live_server, caller)
    return caller


async def _fixtures(live_server, ws) -> tuple[dict[str, int], dict[tuple[str, str], dict[str, int]]]:
    """Ids for path parameters: things that exist, and throwaway ones for the routes that
    delete, erase or revoke what they are given."""
    conversation_id, contact_id = await seed_conversation(ws)
    await (await console_client(live_server, ws.agent_email, ws.agent_password)).aclose()
    async with session_scope() as session:  # that second sign-in is the session to revoke
        signed_in = await signins.list_active(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
        doomed_session = max(s.id for s in signed_in)
    async with session_scope() as session:
        wid = ws.workspace_id
        spare_agent = await accounts.create_agent(
            session,
            workspace_id=wid,
            email=f"spare-{secrets.token_hex(3)}@{ws.slug}.test",
            name="예비 상담원",
            password="correct-horse-battery",
        )
        team = await accounts.create_team(session, workspace_id=wid, name="결제팀")
        doomed_team = await accounts.create_team(session, workspace_id=wid, name="없어질 팀")
        category = await kb_categories.create_category(
            session, workspace_id=wid, slug="delivery", names={"ko": "배송"}
        )
        doomed_category = await kb_categories.create_category(
            session, workspace_id=wid, slug="doomed", names={"ko": "없어질 분류"}
        )
        article = await knowledge.create_article(
            session,
            workspace_id=wid,
            title="배송 조회",
            body="주문 내역에서 확인하세요.",
            category_id=category.id,
        )
        question = await knowledge.add_alternate_question(
            session, workspace_id=wid, article_id=article.id, text="택배 어디쯤인가요"
        )
        doomed_question = await knowledge.add_alternate_question(
            session, workspace_id=wid, article_id=article.id, text="없어질 질문"
        )
        doomed_article = await knowledge.create_article(session, workspace_id=wid, title="없어질 글")
        doomed_contact = await contacts.create(session, workspace_id=wid, name="지울 고객", email=None)
        doomed_token, _raw = await accounts.create_api_token(
            session, workspace_id=wid, agent_id=ws.agent_id, name="revoke me"
        )
        notice = await accounts.add_notice(
            session, workspace_id=wid, agent_id=ws.agent_id, kind="account_locked", details={}
        )
        # The admin's own personal replies: the other roles are answered 404 (not theirs).
        admin_viewer = await replies.viewer(session, workspace_id=wid, agent_id=ws.agent_id, role="admin")
        reply = await replies.create(
            session, workspace_id=wid, viewer=admin_viewer, shortcut="인사", title="인사", body="안녕하세요"
        )
        doomed_reply = await replies.create(
            session, workspace_id=wid, viewer=admin_viewer, shortcut="삭제", title="없어질 답변", body="x"
        )
        policy = await sla.seed_default(session, workspace_id=wid)
        doomed_policy = await sla.create(session, workspace_id=wid, name="없어질 정책")
        survey = await surveys.create(session, workspace_id=wid, name="만족도", kind="csat")
        doomed_survey = await surveys.create(session, workspace_id=wid, name="없어질 설문", kind="nps")
        staff_survey = await surveys.create(
            session,
            workspace_id=wid,
            name="직원 설문",
            kind="custom",
            audience="agents",
            questions=[{"id": "q1", "type": "likert", "text": "좋다"}],
        )
        segment = await segments.create(
            session,
            workspace_id=wid,
            name="한국어 고객",
            filter={"all": [{"field": "language", "op": "in", "value": ["ko"]}]},
        )
        doomed_segment = await segments.create(
            session, workspace_id=wid, name="없어질 세그먼트", filter={"all": []}
        )
        rules = await attachments.policy(session, workspace_id=wid)
        attachment = await attachments.create(
            session,
            workspace_id=wid,
            rules=rules,
            filename="영수증.png",
            data=png(),
            uploader_type="agent",
            uploader_id=ws.agent_id,
            conversation_id=conversation_id,
        )
        # Never contacted (nothing subscribes to what these tests do): ids for the routes.
        subscription, _secret = await webhooks.create(
            session, workspace_id=wid, url="http://127.0.0.1:9/hooks", events=["contact.created"]
        )
        doomed_subscription, _secret = await webhooks.create(
            session, workspace_id=wid, url="http://127.0.0.1:9/doomed", events=["contact.created"]
        )
        ids = {
            "policy_id": policy.id,
            "subscription_id": subscription.id,
            "delivery_id": 1,  # none of this workspace's: an allowed caller gets 404
            "attachment_id": attachment.public_id,
            "reply_id": reply.id,
            "agent_id": spare_agent.id,
            "team_id": team.id,
            "inbox_id": ws.inbox_id,
            "contact_id": contact_id,
            "conversation_id": conversation_id,
            "category_id": category.id,
            "article_id": article.id,
            "question_id": question.id,
            "token_id": doomed_token.id,
            "notice_id": notice.id,
            "proposal_id": 1,  # none exist: an allowed caller gets 404
            "survey_id": survey.id,
            "segment_id": segment.id,
            "send_id": 1,  # a survey send: none of this workspace's, an allowed caller gets 404
            "session_id": doomed_session,
            "rule_id": 1,  # routing and automation rules: none of this workspace's, an allowed caller gets 404
            "key": "welcome",  # /…/automations/templates/{key}: a seed journey
            "announcement_id": 1,  # none of this workspace's: an allowed caller gets 404
            "campaign_id": 1,  # the same (campaigns.manage)
            "callback_id": 1,  # the same
            "call_id": 1,  # a browser call (sodam.calls): none of this workspace's, 404
            "mention_id": 1,  # the same
            "cobrowse_id": 1,  # the same (co-browsing sessions)
            "name": "overview",  # reports: /api/v1/reports/{name}, /console/reports/{name}
            # Contacts' data: none of this workspace's, an allowed caller gets 404.
            "definition_id": 1,
            "company_id": 1,
            "merge_id": 1,
            "import_id": 1,
            # The training sandbox: none of this workspace's, an allowed caller gets 404.
            "scenario_id": 1,
            "attempt_id": 1,
        }
        doomed = {
            ("DELETE", "/api/v1/teams/{team_id}"): {"team_id": doomed_team.id},
            ("POST", "/console/settings/teams/{team_id}/delete"): {"team_id": doomed_team.id},
            ("DELETE", "/api/v1/kb/categories/{category_id}"): {"category_id": doomed_category.id},
            ("POST", "/console/kb/categories/{category_id}/delete"): {"category_id": doomed_category.id},
            ("DELETE", "/api/v1/kb/articles/{article_id}"): {"article_id": doomed_article.id},
            ("POST", "/console/kb/articles/{article_id}/delete"): {"article_id": doomed_article.id},
            ("DELETE", "/api/v1/kb/articles/{article_id}/alternate-questions/{question_id}"): {
                "question_id": doomed_question.id
            },
            ("POST", "/console/kb/articles/{article_id}/questions/{question_id}/delete"): {
                "question_id": doomed_question.id
            },
            ("DELETE", "/api/v1/canned-replies/{reply_id}"): {"reply_id": doomed_reply.id},
            ("DELETE", "/api/v1/sla-policies/{policy_id}"): {"policy_id": doomed_policy.id},
            ("POST", "/console/settings/sla/{policy_id}/delete"): {"policy_id": doomed_policy.id},
            ("POST", "/console/settings/replies/{reply_id}/delete"): {"reply_id": doomed_reply.id},
            ("POST", "/api/v1/contacts/{contact_id}/erase"): {"contact_id": doomed_contact.id},
            ("POST", "/console/contacts/{contact_id}/erase"): {"contact_id": doomed_contact.id},
            ("DELETE", "/api/v1/webhooks/{subscription_id}"): {"subscription_id": doomed_subscription.id},
            ("POST", "/console/settings/webhooks/{subscription_id}/delete"): {
                "subscription_id": doomed_subscription.id
            },
            ("DELETE", "/api/v1/surveys/{survey_id}"): {"survey_id": doomed_survey.id},
            ("DELETE", "/api/v1/segments/{segment_id}"): {"segment_id": doomed_segment.id},
            ("POST", "/console/segments/{segment_id}/delete"): {"segment_id": doomed_segment.id},
            ("GET", "/api/v1/feedback/surveys/{survey_id}/results"): {"survey_id": staff_survey.id},
            ("POST", "/api/v1/feedback/surveys/{survey_id}/answer"): {"survey_id": staff_survey.id},
            ("POST", "/console/feedback/{survey_id}"): {"survey_id": staff_survey.id},
            ("GET", "/console/feedback/{survey_id}/results"): {"survey_id": staff_survey.id},
        }
    return ids, doomed


QUERIES = {"/api/v1/kb/search": {"q": "배송"}}
# These end the session they are called with: each gets a fresh one, and signs in again after.
SIGN_OUTS = {("POST", "/console/logout"), ("POST", "/console/logout-everywhere")}
# Allowed callers may still be refused by the route itself: 400 and 422 for the empty
# placeholder bodies, 404 for placeholder or already-deleted ids, 409 for conflicts.
ALLOWED_STATUSES = {200, 201, 204, 303, 400, 404, 409, 422}


def fill(template: str, values: dict[str, int | str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


async def _call(caller: Caller, route: Declared, path: str) -> httpx.Response:
    params = QUERIES.get(route.path)
    if route.path.startswith("/api/v1"):
        body = {"json": {}} if route.method in ("POST", "PATCH") else {}
        return await caller.api.request(route.method, path, params=params, **body)
    response = await caller.console.request(route.method, path, params=params)
    caller.console.cookies.clear()
    return response


async def test_every_route_answers_by_the_table_for_every_role(live_server, make_workspace):
    ws = await make_workspace()
    callers = [await _caller(live_server, ws, role) for role in (Role.agent, Role.supervisor, Role.admin)]
    ids, doomed = await _fixtures(live_server, ws)
    routes, _ = declared_routes()
    checked = [r for r in routes if guarded(r.path) and (r.method, r.path) not in PUBLIC]
    wrong = []
    try:
        for route in checked:
            path = fill(route.path, {**ids, **doomed.get((route.method, route.path), {})})
            for caller in callers:
                allowed = bool(route.rule & ROLE_PERMISSIONS[caller.role])
                r = await _call(caller, route, path)
                if (route.method, route.path) in SIGN_OUTS:
                    assert r.status_code in (204, 303), (route, r.status_code)
                    await _sign_in(live_server, caller)
                code = r.json().get("error", {}).get("code") if r.status_code == 403 else None
                if allowed and r.status_code not in ALLOWED_STATUSES:
                    wrong.append(f"{caller.role.value} {route.method} {path}: {r.status_code} {r.text[:200]}")
                if not allowed and (r.status_code, code) != (403, "permission_required"):
                    wrong.append(f"{caller.role.value} {route.method} {path}: {r.status_code}, expected 403")
                if not allowed and code == "permission_required":
                    named = r.json()["error"]["details"]["permission"]
                    named = {named} if isinstance(named, str) else set(named)
                    assert named == {p.value for p in route.rule}, (route, named)
    finally:
        for caller in callers:
            await caller.api.aclose()
            await caller.console.aclose()
    assert wrong == []
    # The throwaway things are gone, the ones the other routes used are not.
    async with session_scope() as session:
        assert [t.name for t in await accounts.list_teams(session, workspace_id=ws.workspace_id)] == [
            "결제팀"
        ]
        kept = await knowledge.get_article(
            session, workspace_id=ws.workspace_id, article_id=ids["article_id"]
        )
        assert [q.text for q in kept.alternate_questions] == ["택배 어디쯤인가요"]
        token_ids = {t.id: t for t in await accounts.list_api_tokens(session, workspace_id=ws.workspace_id)}
        assert token_ids[ids["token_id"]].revoked_at is not None
        admin_sessions = await signins.list_active(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id
        )
        assert ids["session_id"] not in {s.id for s in admin_sessions}
