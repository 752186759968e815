"""Helpers for the console tests: log in like a browser, seed conversations through the services."""

from __future__ import annotations

import re

import httpx

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: httpx.AsyncClient) -> str:
    return client.cookies.get("sodam_csrf") or ""


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/console/login")
    assert page.status_code == 200
    token = CSRF_RE.search(page.text).group(1)
    assert token == csrf_of(client)
    return await client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )


async def console_client(server, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=server.url, headers={"Accept": "text/html"})
    r = await login(client, email, password)
    assert r.status_code == 303, r.text
    return client


async def post(client: httpx.AsyncClient, path: str, data: dict | None = None, **kw) -> httpx.Response:
    """An htmx-style POST: the CSRF token in the header."""
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(client), **kw.pop("headers", {})}
    return await client.post(path, data=data or {}, headers=headers, **kw)


async def seed_conversation(
    ws, *, text: str = "안녕하세요, 배송 문의드립니다", name: str = "김고객", assignee_id: int | None = None
) -> tuple[int, int]:
    """A contact with one incoming message; returns (conversation id, contact id)."""
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name=name, email=None)
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        await conversations.create_message(
            session, conversation=conv, content=text, sender_type=SenderType.contact, sender_id=contact.id
        )
        if assignee_id is not None:
            await conversations.assign(
                session,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                assignee_id=assignee_id,
                actor_id=None,
            )
        return conv.id, contact.id


async def add_agent(ws, *, role: Role = Role.agent, locale: str = "ko") -> tuple[int, str, str]:
    """Another agent in the workspace; returns (id, email, password)."""
    email = f"agent-{role.value}-{locale}@{ws.slug}.test"
    password = "another-secret-123"
    async with session_scope() as session:
        agent = await accounts.create_agent(
            session,
            workspace_id=ws.workspace_id,
            email=email,
            name=f"{role.value} {locale}",
            password=password,
            role=role,
            locale=locale,
        )
        return agent.id, email, password
