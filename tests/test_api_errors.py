"""REST API v1 errors: every status has the one body {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import base64
import json

from sodam.accounts import service as accounts
from sodam.db.session import session_scope
from tests.test_api_helpers import assert_error, client, new_token, seed_conversation


async def test_401_missing_unknown_revoked_token(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, None) as api:
        assert_error(await api.get("/contacts"), 401, "missing_token")
        assert_error(await api.get("/contacts", headers={"Authorization": "Basic abc"}), 401, "missing_token")
        assert_error(
            await api.get("/contacts", headers={"Authorization": "Bearer sdm_nope"}), 401, "invalid_token"
        )
    token = await new_token(ws, ["read", "write"])
    async with client(live_server, token) as api:
        assert (await api.get("/agents/me")).status_code == 200
        async with session_scope() as session:
            tokens = await accounts.list_api_tokens(session, workspace_id=ws.workspace_id)
            await accounts.revoke_api_token(session, workspace_id=ws.workspace_id, token_id=tokens[0].id)
        assert_error(await api.get("/agents/me"), 401, "invalid_token")
        assert_error(await api.post("/contacts", json={}), 401, "invalid_token")


async def test_403_read_only_token_cannot_write(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws)
    read_only = await new_token(ws, ["read"])
    write_only = await new_token(ws, ["write"])
    async with client(live_server, read_only) as api:
        assert (await api.get("/contacts")).status_code == 200
        cid = seeded.conversation_id
        for method, path, body in [
            ("POST", "/contacts", {"name": "x"}),
            ("PATCH", f"/contacts/{seeded.contact_id}", {"name": "x"}),
            ("PATCH", f"/conversations/{cid}", {"status": "resolved"}),
            ("POST", f"/conversations/{cid}/messages", {"content": "x"}),
            ("POST", "/inboxes", {"name": "x"}),
            ("PATCH", f"/inboxes/{ws.inbox_id}", {"name": "x"}),
            ("POST", "/teams", {"name": "x"}),
        ]:
            error = assert_error(await api.request(method, path, json=body), 403, "insufficient_scope")
            assert error["details"] == {"required": "write", "granted": ["read"]}
        assert (await api.get(f"/conversations/{cid}")).json()["status"] == "open"
    async with client(live_server, write_only) as api:
        assert (await api.get("/contacts")).status_code == 200  # write implies read


async def test_400_invalid_cursor(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws)
    other = await seed_conversation(ws)
    async with client(live_server, ws.api_token) as api:
        for _ in range(3):
            await api.post("/contacts", json={"name": "x"})
        good = (await api.get("/contacts", params={"limit": 1})).json()["next_cursor"]
        assert good
        forged = base64.urlsafe_b64encode(json.dumps({"k": "contacts", "id": "1; drop"}).encode()).decode()
        for bad in ["!!!", "bm90IGpzb24", good[:-3], forged, "eyJrIjoiY29udGFjdHMifQ"]:
            assert_error(await api.get("/contacts", params={"cursor": bad}), 400, "invalid_cursor")
        # A cursor belongs to one list: not another list, nor another conversation's messages.
        assert_error(await api.get("/inboxes", params={"cursor": good}), 400, "invalid_cursor")
        assert_error(await api.get("/conversations", params={"cursor": good}), 400, "invalid_cursor")
        msgs = await api.get(f"/conversations/{seeded.conversation_id}/messages", params={"limit": 1})
        await api.post(f"/conversations/{seeded.conversation_id}/messages", json={"content": "a"})
        msgs = await api.get(f"/conversations/{seeded.conversation_id}/messages", params={"limit": 1})
        cursor = msgs.json()["next_cursor"]
        assert cursor
        r = await api.get(f"/conversations/{other.conversation_id}/messages", params={"cursor": cursor})
        assert_error(r, 400, "invalid_cursor")
        r = await api.get(
            f"/conversations/{seeded.conversation_id}/messages", params={"cursor": cursor, "after_seq": 1}
        )
        assert_error(r, 400, "invalid_cursor")
        for limit in (0, 101, "x"):
            assert_error(await api.get("/contacts", params={"limit": limit}), 422, "validation_error")


async def test_404_unknown_ids_and_routes(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        for path in [
            "/contacts/987654321",
            "/contacts/987654321/conversations",
            "/conversations/987654321",
            "/conversations/987654321/messages",
            "/conversations/987654321/events",
            "/inboxes/987654321",
            "/agents/987654321",
            "/teams/987654321",
            "/nothing-here",
        ]:
            assert_error(await api.get(path), 404)
        # Ids past PostgreSQL's bigint are "not found" or invalid, never a 500.
        r = await api.get("/contacts/99999999999999999999")
        assert r.status_code in (404, 422)
        assert_error(r, r.status_code)
        assert_error(await api.get("/contacts/abc"), 422, "validation_error")
        assert_error(await api.delete("/contacts"), 405)


async def test_409_duplicate_team(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        assert (await api.post("/teams", json={"name": "VIP"})).status_code == 201
        error = assert_error(await api.post("/teams", json={"name": "VIP"}), 409, "team_exists")
        assert "VIP" in error["message"]


async def test_413_message_too_long_and_body_too_large(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws)
    path = f"/conversations/{seeded.conversation_id}/messages"
    async with client(live_server, ws.api_token) as api:
        error = assert_error(await api.post(path, json={"content": "가" * 10_001}), 413, "message_too_long")
        assert error["details"] == {"length": 10_001, "max_chars": 10_000}
        assert (await api.post(path, json={"content": "가" * 10_000})).status_code == 201
        r = await api.post("/contacts", json={"name": "x", "custom_attributes": {"blob": "x" * 300_000}})
        assert_error(r, 413, "request_too_large")


async def test_422_malformed_json_wrong_types_unknown_fields(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws)
    cid = seeded.conversation_id
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/contacts", content=b'{"name": "x",', headers={"content-type": "application/json"}
        )
        assert_error(r, 422, "malformed_json")
        assert_error(await api.post("/contacts", json={"name": 5}), 422, "validation_error")
        assert_error(await api.post("/contacts", json={"nmae": "x"}), 422, "validation_error")
        assert_error(await api.post("/contacts", json={"email": "not-an-email"}), 422, "validation_error")
        assert_error(await api.post("/contacts", json=["x"]), 422, "validation_error")
        assert_error(await api.patch(f"/contacts/{seeded.contact_id}", json={"custom_attributes": None}), 422)
        assert_error(
            await api.patch(f"/conversations/{cid}", json={"status": "closed"}), 422, "validation_error"
        )
        assert_error(await api.patch(f"/conversations/{cid}", json={"assignee": 1}), 422, "validation_error")
        assert_error(
            await api.patch(f"/conversations/{cid}", json={"tags": [f"t{i}" for i in range(31)]}),
            422,
            "too_many_tags",
        )
        assert_error(
            await api.post(f"/conversations/{cid}/messages", json={"content": "   "}), 422, "empty_message"
        )
        assert_error(
            await api.post(f"/conversations/{cid}/messages", json={"text": "hi"}), 422, "validation_error"
        )
        assert_error(await api.post(f"/conversations/{cid}/messages", json={"content": "a\x00b"}), 422)
        assert_error(await api.post("/contacts", json={"name": "a\x00b"}), 422, "validation_error")
        assert_error(await api.post("/contacts", json={"custom_attributes": {"k": "\x00"}}), 422)
        assert_error(await api.post("/teams", json={"name": ""}), 422, "validation_error")
        assert_error(
            await api.post("/teams", json={"name": "t", "agent_ids": [2**63]}), 422, "validation_error"
        )
        assert_error(
            await api.post("/inboxes", json={"name": "x", "allowed_origins": ["nope"]}), 422, "invalid_origin"
        )
        r = await api.patch(f"/conversations/{cid}", json={"assignee_id": 2**70})
        assert_error(r, 404)
        # Nothing above changed the conversation.
        assert (await api.get(f"/conversations/{cid}")).json()["status"] == "open"


async def test_errors_never_500_on_odd_input(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        odd = ["%", "_", "'", "\\", "가나다" * 60, "😀"]
        for q in odd:
            r = await api.get("/contacts", params={"q": q})
            assert r.status_code == 200, (q, r.text)
        r = await api.get("/contacts", params={"q": "x" * 201})
        assert_error(r, 422)
        r = await api.get("/contacts", params={"q": "a\x00"})
        assert r.status_code in (200, 422)
    # No token and garbage JSON: either answer is a clean 4xx error body.
    async with client(live_server, None) as api:
        r = await api.post("/contacts", content=b"{", headers={"content-type": "application/json"})
        assert_error(r, r.status_code)
        assert r.status_code in (401, 422)
