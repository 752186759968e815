"""Shared helpers for the REST API tests (no tests here): clients and seed data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope


def client(server, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=server.url + "/api/v1", headers=headers, timeout=20)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is an error with the one body shape everywhere."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


async def walk(api: httpx.AsyncClient, path: str, limit: int, **params) -> list[dict]:
    """Every row of a list, following next_cursor; checks the page size on the way."""
    rows: list[dict] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await api.get(path, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"data", "next_cursor"}
        assert len(page["data"]) <= limit
        rows.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
        assert len(page["data"]) == limit
    raise AssertionError("pagination did not end")


async def new_token(ws, scopes: list[str], role: Role | None = None) -> str:
    """A token for the workspace's admin, or for a new agent with `role`."""
    async with session_scope() as session:
        agent_id = ws.agent_id
        if role is not None:
            agent = await accounts.create_agent(
                session,
                workspace_id=ws.workspace_id,
                email=f"{role.value}-{secrets.token_hex(3)}@{ws.slug}.test",
                name=f"{role.value} agent",
                password="correct-horse-battery",
                role=role,
            )
            agent_id = agent.id
        _token, raw = await accounts.create_api_token(
            session, workspace_id=ws.workspace_id, agent_id=agent_id, name="t", scopes=scopes
        )
        return raw


@dataclass
class Seeded:
    contact_id: int
    conversation_id: int


async def seed_conversation(
    ws, *, name: str = "김민지", text: str = "안녕하세요", messages: int = 1
) -> Seeded:
    """A contact with an open conversation in the workspace's inbox holding customer messages."""
    async with session_scope() as session:
        contact = await contacts.create(
            session, workspace_id=ws.workspace_id, name=name, email=f"{secrets.token_hex(4)}@example.com"
        )
        conversation = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        for i in range(messages):
            await conversations.create_message(
                session,
                conversation=conversation,
                content=f"{text} {i}" if messages > 1 else text,
                sender_type=SenderType.contact,
                sender_id=contact.id,
            )
        return Seeded(contact.id, conversation.id)
