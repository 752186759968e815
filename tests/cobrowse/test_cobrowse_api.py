"""Co-browsing over the API and the sockets: consent, relay, pointer, stop by either side,
the log on the conversation and the timeline; bad input; another visitor or workspace can
neither inject events nor watch."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
import zlib

import httpx
import websockets

from sodam.accounts.models import Role
from tests.frames import bearer, next_frame, widget_socket_url
from tests.test_api_helpers import assert_error, client


async def _visitor(live_server, inbox_token: str) -> tuple[str, int]:
    """A visitor who has written once: (visitor token, conversation id)."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        r = await c.post(f"/widget/v1/{inbox_token}/session", json={"locale": "ko"})
        token = r.json()["visitor_token"]
        r = await c.post(
            f"/widget/v1/{inbox_token}/messages",
            json={"content": "화면이 이상해요", "client_id": str(uuid.uuid4())},
            headers={"X-Sodam-Visitor": token},
        )
        assert r.status_code == 201, r.text
        return token, r.json()["conversation_id"]


async def _frame_of(sock, kind: str, wait_s: float = 10) -> dict:
    """The next frame of this type (others skipped)."""

    async def find():
        while True:
            frame = await next_frame(sock)
            if frame.get("type") == kind:
                return frame

    return await asyncio.wait_for(find(), wait_s)


def _mirror_url(live_server, sid: int) -> str:
    return f"{live_server.ws_url}/api/v1/cobrowse/sessions/{sid}/stream"


async def _hello(sock) -> None:
    await _frame_of(sock, "hello")


async def test_consent_relay_pointer_and_stop_by_the_agent(live_server, make_workspace):
    ws = await make_workspace()
    token, conv = await _visitor(live_server, ws.inbox_token)
    other_token, _ = await _visitor(live_server, ws.inbox_token)
    async with (
        client(live_server, ws.api_token) as api,
        websockets.connect(await widget_socket_url(live_server, ws.inbox_token, token)) as visitor,
        websockets.connect(await widget_socket_url(live_server, ws.inbox_token, other_token)) as intruder,
    ):
        await _hello(visitor)
        await _hello(intruder)
        r = await api.post(f"/conversations/{conv}/cobrowse")
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        assert r.json()["status"] == "requested" and r.json()["started_at"] is None
        asked = await _frame_of(visitor, "cobrowse")
        assert asked == {**asked, "session_id": sid, "state": "requested", "conversation_id": conv}
        assert_error(await api.post(f"/conversations/{conv}/cobrowse"), 409, "cobrowse_in_progress")

        # The prompt's words, in the customer's language; another visitor cannot read it.
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
            r = await c.get(
                f"/widget/v1/{ws.inbox_token}/cobrowse/{sid}?locale=en", headers={"X-Sodam-Visitor": token}
            )
            assert r.status_code == 200, r.text
            assert r.json()["strings"]["allow"] == "Allow" and r.json()["status"] == "requested"
            assert r.json()["recorder"].startswith("vendor/rrweb-")
            r = await c.get(
                f"/widget/v1/{ws.inbox_token}/cobrowse/{sid}", headers={"X-Sodam-Visitor": other_token}
            )
            assert_error(r, 404, "not_found")

        async with websockets.connect(_mirror_url(live_server, sid), **bearer(ws.api_token)) as mirror:
            assert (await _frame_of(mirror, "state"))["state"] == "requested"
            # Another visitor can neither accept this request nor send events for it.
            await intruder.send(json.dumps({"type": "cobrowse.accept", "session_id": sid}))
            assert (await _frame_of(intruder, "cobrowse.error"))["error"]["code"] == "not_found"
            await visitor.send(json.dumps({"type": "cobrowse.accept", "session_id": sid}))
            ready = await _frame_of(visitor, "cobrowse.ready")
            assert ready["session_id"] == sid and ready["mask_selectors"] == []
            assert (await _frame_of(mirror, "state"))["state"] == "active"

            injected = [{"type": 3, "timestamp": 1, "data": {"text": "INJECTED"}}]
            await intruder.send(
                json.dumps({"type": "cobrowse.events", "session_id": sid, "events": injected})
            )
            assert (await _frame_of(intruder, "cobrowse.error"))["error"]["code"] == "cobrowse_not_active"

            # Bad input: an error frame each, the socket stays.
            for bad in (
                {"type": "cobrowse.events", "events": []},
                {"type": "cobrowse.events", "session_id": sid, "events": "x"},
                {"type": "cobrowse.events", "session_id": sid, "events": [{"type": "x"}]},
                {"type": "cobrowse.wat", "session_id": sid},
            ):
                await visitor.send(json.dumps(bad))
                assert (await _frame_of(visitor, "cobrowse.error"))["error"]["code"] in (
                    "invalid",
                    "unknown_frame",
                )

            page = [
                {
                    "type": 4,
                    "timestamp": 1000,
                    "data": {"href": "https://shop.example/", "width": 800, "height": 600},
                },
                {
                    "type": 3,
                    "timestamp": 1001,
                    "data": {"source": 0, "texts": [{"id": 1, "value": "보이는 글 " * 3000}]},
                },
            ]
            await visitor.send(json.dumps({"type": "cobrowse.events", "session_id": sid, "events": page}))
            got = await _frame_of(mirror, "events")
            events = json.loads(zlib.decompress(base64.b64decode(got["data"])))
            assert events == page  # whole, though it took several NOTIFYs (chunked at 7,000)
            assert len(got["data"]) > 7000 or len(json.dumps(page)) > 7000

            await mirror.send(json.dumps({"type": "pointer", "x": 120.5, "y": 640}))
            pointer = await _frame_of(visitor, "cobrowse.pointer")
            assert (pointer["x"], pointer["y"], pointer["session_id"]) == (120.5, 640, sid)
            await mirror.send(json.dumps({"type": "pointer", "x": "1; alert(1)", "y": 1}))  # ignored

            await mirror.send(json.dumps({"type": "stop"}))
            ended = await _frame_of(visitor, "cobrowse")
            assert ended["state"] == "ended" and ended["ended_by"] == "agent"
            assert (await _frame_of(mirror, "state"))["state"] == "ended"
        # Late events of an ended session are refused.
        await visitor.send(json.dumps({"type": "cobrowse.events", "session_id": sid, "events": page}))
        assert (await _frame_of(visitor, "cobrowse.error"))["error"]["code"] == "cobrowse_not_active"

        r = await api.get(f"/cobrowse/sessions/{sid}")
        body = r.json()
        assert body["status"] == "ended" and body["ended_by"] == "agent" and body["end_reason"] == "stopped"
        assert isinstance(body["duration_s"], int) and body["started_at"] is not None
        assert [s["id"] for s in (await api.get(f"/conversations/{conv}/cobrowse")).json()] == [sid]
        kinds = [e["type"] for e in (await api.get(f"/conversations/{conv}/events")).json()["data"]]
        assert {"cobrowse.requested", "cobrowse.started", "cobrowse.ended"} <= set(kinds)
        contact_id = (await api.get(f"/conversations/{conv}")).json()["contact_id"]
        timeline = (await api.get(f"/contacts/{contact_id}/timeline")).json()["data"]
        entry = next(e for e in timeline if e["kind"] == "cobrowse")
        assert entry["data"]["ended_by"] == "agent" and entry["data"]["duration_s"] is not None
        # Stopping again changes nothing.
        assert (await api.post(f"/cobrowse/sessions/{sid}/stop")).json()["ended_by"] == "agent"


async def test_the_customer_stops_declines_or_leaves_and_limits_hold(live_server, make_workspace):
    ws = await make_workspace()
    token, conv = await _visitor(live_server, ws.inbox_token)
    async with client(live_server, ws.api_token) as api:
        async with websockets.connect(await widget_socket_url(live_server, ws.inbox_token, token)) as visitor:
            await _hello(visitor)
            sid = (await api.post(f"/conversations/{conv}/cobrowse")).json()["id"]
            await _frame_of(visitor, "cobrowse")
            await visitor.send(json.dumps({"type": "cobrowse.decline", "session_id": sid}))
            assert (await _frame_of(visitor, "cobrowse"))["state"] == "declined"
            assert (await api.get(f"/cobrowse/sessions/{sid}")).json()["ended_by"] == "contact"
            await visitor.send(json.dumps({"type": "cobrowse.accept", "session_id": sid}))
            assert (await _frame_of(visitor, "cobrowse.error"))["error"]["code"] == "cobrowse_not_pending"

            sid = (await api.post(f"/conversations/{conv}/cobrowse")).json()["id"]
            await visitor.send(json.dumps({"type": "cobrowse.accept", "session_id": sid}))
            await _frame_of(visitor, "cobrowse.ready")
            # Rate limit: a burst of small batches is cut off with retry_after.
            one = [{"type": 3, "timestamp": 1, "data": {}}]
            for _ in range(40):
                await visitor.send(json.dumps({"type": "cobrowse.events", "session_id": sid, "events": one}))
            limited = await _frame_of(visitor, "cobrowse.error")
            assert (
                limited["error"]["code"] == "rate_limited" and limited["error"]["details"]["retry_after"] > 0
            )
            await visitor.send(json.dumps({"type": "cobrowse.stop", "session_id": sid}))
            ended = await _frame_of(visitor, "cobrowse")
            assert ended["state"] == "ended" and ended["ended_by"] == "contact"

            sid = (await api.post(f"/conversations/{conv}/cobrowse")).json()["id"]
            await visitor.send(json.dumps({"type": "cobrowse.accept", "session_id": sid}))
            await _frame_of(visitor, "cobrowse.ready")
        # The page closed: its session ends on its own.
        for _ in range(50):
            body = (await api.get(f"/cobrowse/sessions/{sid}")).json()
            if body["status"] == "ended":
                break
            await asyncio.sleep(0.1)
        assert (
            body["status"] == "ended"
            and body["ended_by"] == "contact"
            and body["end_reason"] == "page_closed"
        )


async def test_settings_permissions_and_isolation(live_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    agent_only = await make_workspace(role=Role.agent)
    _token, conv = await _visitor(live_server, a.inbox_token)
    async with client(live_server, a.api_token) as api, client(live_server, b.api_token) as other:
        sid = (await api.post(f"/conversations/{conv}/cobrowse")).json()["id"]
        assert_error(await other.get(f"/cobrowse/sessions/{sid}"), 404, "not_found")
        assert_error(await other.post(f"/cobrowse/sessions/{sid}/stop"), 404, "not_found")
        assert_error(await other.post(f"/conversations/{conv}/cobrowse"), 404, "not_found")
        assert_error(await other.get(f"/conversations/{conv}/cobrowse"), 404, "not_found")
        async with websockets.connect(_mirror_url(live_server, sid), **bearer(b.api_token)) as mirror:
            assert (await next_frame(mirror))["error"]["code"] == "not_found"
            await mirror.wait_closed()
        assert mirror.close_code == 4404
        assert (await api.get(f"/cobrowse/sessions/{sid}")).json()["status"] == "requested"

        r = await api.put("/cobrowse/settings", json={"mask_selectors": [".card", "div { color: red }"]})
        assert assert_error(r, 422, "invalid_selector")["details"]["selector"] == "div { color: red }"
        for bad in ["a[href", "a,", "<script>", "a /* x */"]:
            assert_error(await api.put("/cobrowse/settings", json={"mask_selectors": [bad]}), 422)
        assert_error(
            await api.put("/cobrowse/settings", json={"mask_selectors": [f".c{i}" for i in range(51)]}), 422
        )
        assert_error(await api.put("/cobrowse/settings", json={"wat": 1}), 422)
        r = await api.put(
            "/cobrowse/settings", json={"mask_selectors": [" .card  ", "#acct [name='no']", ".card"]}
        )
        assert r.json() == {"enabled": True, "mask_selectors": [".card", "#acct [name='no']"]}
        assert (await other.get("/cobrowse/settings")).json()["mask_selectors"] == []
        await api.post(f"/cobrowse/sessions/{sid}/stop")
        await api.put("/cobrowse/settings", json={"enabled": False})
        assert_error(await api.post(f"/conversations/{conv}/cobrowse"), 409, "cobrowse_disabled")
    async with client(live_server, agent_only.api_token) as api:
        assert_error(await api.get("/cobrowse/settings"), 403, "permission_required")
