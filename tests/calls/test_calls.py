"""Browser calls (docs/calls.md) without a browser: the call frames over the real sockets — the
lifecycle, the signalling relayed to the call's two parties only, an attacker's visitor token
and another workspace's agent refused — the record on the conversation and the timeline, the
booking API's slots and bad input, the ring timeout, workspace isolation."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import websockets
from sqlalchemy import select, text

from sodam.calls import service as calls
from sodam.calls.models import WebCall
from sodam.conversations.models import Message
from sodam.db.session import session_scope
from tests.frames import bearer, next_frame, widget_socket_url
from tests.test_api_helpers import assert_error, client

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def _visitor(server, ws, text: str = "상담원과 통화하고 싶어요") -> tuple[str, int, int]:
    """(visitor token, contact id, conversation id) of a new widget visitor who wrote once."""
    async with httpx.AsyncClient(base_url=f"{server.url}/widget/v1/{ws.inbox_token}") as w:
        s = (await w.post("/session", json={})).json()
        r = await w.post(
            "/messages",
            json={"content": text, "client_id": f"c-{s['contact_id']}"},
            headers={"X-Sodam-Visitor": s["visitor_token"]},
        )
        assert r.status_code == 201, r.text
        return s["visitor_token"], s["contact_id"], r.json()["conversation_id"]


async def _until(sock, pred, wait: float = 10.0) -> dict:
    """The next frame satisfying `pred` (frames before it are skipped)."""

    async def read():
        while True:
            frame = await next_frame(sock)
            if pred(frame):
                return frame

    return await asyncio.wait_for(read(), wait)


def _call(action: str):
    return lambda f: f.get("type") == "call" and f.get("action") == action


async def _quiet(sock) -> list[dict]:
    """Every frame up to the answer to a ping: what this socket received meanwhile."""
    await sock.send(json.dumps({"type": "ping"}))
    seen = []
    while True:
        frame = await asyncio.wait_for(next_frame(sock), 10)
        if frame.get("type") == "pong":
            return seen
        seen.append(frame)


async def test_a_call_over_the_sockets_reaches_only_its_two_parties(live_server, make_workspace):
    ws = await make_workspace()
    other = await make_workspace()
    token, contact_id, conv = await _visitor(live_server, ws)
    attacker_token, _attacker, attacker_conv = await _visitor(live_server, ws, "저도요")
    agent_url = f"{live_server.ws_url}/api/v1/realtime"
    async with (
        websockets.connect(agent_url, **bearer(ws.api_token)) as agent,
        websockets.connect(agent_url, **bearer(other.api_token)) as outsider,
        websockets.connect(await widget_socket_url(live_server, ws.inbox_token, token)) as customer,
        websockets.connect(await widget_socket_url(live_server, ws.inbox_token, attacker_token)) as attacker,
    ):
        for sock in (agent, outsider, customer, attacker):
            assert (await next_frame(sock))["type"] == "hello"
        # bad invites: unknown kind, another workspace's conversation
        await agent.send(
            json.dumps({"type": "call", "action": "invite", "conversation_id": conv, "kind": "fax"})
        )
        assert (await _until(agent, _call("error")))["error"]["code"] == "invalid_kind"
        await outsider.send(
            json.dumps({"type": "call", "action": "invite", "conversation_id": conv, "kind": "video"})
        )
        assert (await _until(outsider, _call("error")))["error"]["code"] == "not_found"
        # the agent calls; the customer is asked, the attacker hears nothing
        await agent.send(
            json.dumps({"type": "call", "action": "invite", "conversation_id": conv, "kind": "video"})
        )
        invite = await _until(customer, _call("invite"))
        call_id = invite["call"]["id"]
        assert invite["call"]["conversation_id"] == conv and invite["call"]["status"] == "ringing"
        assert invite["call"]["agent_name"]
        await _until(agent, _call("invite"))
        # a second call on the same conversation is refused while this one rings
        await agent.send(
            json.dumps({"type": "call", "action": "invite", "conversation_id": conv, "kind": "voice"})
        )
        assert (await _until(agent, _call("error")))["error"]["code"] == "call_in_progress"
        # the attacker's visitor token cannot answer, signal into or end this call
        for action in ("accept", "signal", "end", "media"):
            frame = {
                "type": "call",
                "action": action,
                "call_id": call_id,
                "data": {"sdp": {"type": "offer", "sdp": SDP}},
            }
            await attacker.send(json.dumps(frame))
            refusal = await _until(attacker, _call("error"))
            assert refusal["error"]["code"] == "not_found", refusal
        # nor can another workspace's agent
        await outsider.send(
            json.dumps({"type": "call", "action": "signal", "call_id": call_id, "data": {"candidate": None}})
        )
        assert (await _until(outsider, _call("error")))["error"]["code"] == "not_found"
        # signalling before the answer is refused
        await agent.send(
            json.dumps({"type": "call", "action": "signal", "call_id": call_id, "data": {"candidate": None}})
        )
        assert (await _until(agent, _call("error")))["error"]["code"] == "call_not_active"
        # the customer answers
        await customer.send(json.dumps({"type": "call", "action": "accept", "call_id": call_id}))
        assert (await _until(agent, _call("accepted")))["call"]["status"] == "active"
        await _until(customer, _call("accepted"))
        # an offer from the agent reaches the customer; a large one travels compressed
        big = SDP + "a=candidate:1 1 udp 2122260223 192.168.0.10 50000 typ host\r\n" * 150
        assert 8_000 < len(big) < 16_000
        await agent.send(
            json.dumps(
                {
                    "type": "call",
                    "action": "signal",
                    "call_id": call_id,
                    "data": {"sdp": {"type": "offer", "sdp": big}, "extra": "x"},
                }
            )
        )
        signal = await _until(customer, _call("signal"))
        assert signal["data"] == {"sdp": {"type": "offer", "sdp": big}}  # rebuilt: nothing else passes
        cand = {
            "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "x": 1,
        }
        await customer.send(
            json.dumps({"type": "call", "action": "signal", "call_id": call_id, "data": {"candidate": cand}})
        )
        got = await _until(agent, _call("signal"))
        assert got["data"]["candidate"] == {k: cand[k] for k in ("candidate", "sdpMid", "sdpMLineIndex")}
        await agent.send(
            json.dumps({"type": "call", "action": "media", "call_id": call_id, "muted": True, "camera": True})
        )
        media = await _until(customer, _call("media"))
        assert media["muted"] is True and media["camera"] is True and media["screen"] is False
        # bad signals: too long, wrong type, not an object
        for data in (
            {"sdp": {"type": "offer", "sdp": "x" * 16_001}},
            {"sdp": {"type": "pranswer", "sdp": SDP}},
            "x",
        ):
            await agent.send(
                json.dumps({"type": "call", "action": "signal", "call_id": call_id, "data": data})
            )
            assert (await _until(agent, _call("error")))["error"]["code"] == "invalid_signal"
        await agent.send(json.dumps({"type": "call", "action": "signal", "call_id": "1"}))
        assert (await _until(agent, _call("error")))["error"]["code"] == "invalid_call_id"
        # the customer hangs up: both hear it, the call is completed
        await customer.send(json.dumps({"type": "call", "action": "end", "call_id": call_id}))
        ended = await _until(agent, _call("ended"))
        assert ended["call"]["outcome"] == "completed" and ended["call"]["duration_s"] >= 0
        await _until(customer, _call("ended"))
        # the attacker and the outsider never received a frame of this call
        for sock in (attacker, outsider):
            leaked = [f for f in await _quiet(sock) if f.get("type") == "call" and f.get("action") != "error"]
            assert leaked == []
        # a customer's request, answered by no agent, then cancelled: missed
        await attacker.send(json.dumps({"type": "call", "action": "request", "kind": "voice"}))
        requested = await _until(agent, _call("requested"))
        assert requested["call"]["conversation_id"] == attacker_conv and requested["call"]["agent_id"] is None
        await attacker.send(json.dumps({"type": "call", "action": "end", "call_id": requested["call"]["id"]}))
        assert (await _until(agent, _call("ended")))["call"]["outcome"] == "missed"

    # recorded on the conversation (a system message both sides see) and the contact's timeline
    async with session_scope() as session:
        record = await session.scalar(
            select(Message).where(
                Message.conversation_id == conv, Message.client_id == f"web_call:{call_id}:ended"
            )
        )
    assert record.kind.value == "system" and record.content.startswith("영상 통화 · 완료 · ")
    assert record.payload["web_call"]["outcome"] == "completed"
    async with client(live_server, ws.api_token) as api:
        timeline = (await api.get(f"/contacts/{contact_id}/timeline")).json()
        entry = next(e for e in timeline["data"] if e["kind"] == "web_call")
        assert entry["data"]["outcome"] == "completed" and entry["data"]["kind"] == "video"
        listed = (await api.get(f"/conversations/{conv}/web-calls")).json()["calls"]
        assert [c["id"] for c in listed] == [call_id] and listed[0]["status"] == "ended"
        assert (await api.get(f"/web-calls/{call_id}")).json()["outcome"] == "completed"
    async with client(live_server, other.api_token) as api:
        assert_error(await api.get(f"/conversations/{conv}/web-calls"), 404)
        assert_error(await api.get(f"/web-calls/{call_id}"), 404)


async def test_booking_from_offered_slots_and_bad_input(live_server, make_workspace):
    ws = await make_workspace(calls_request=True)
    other = await make_workspace()
    token, _contact, conv = await _visitor(live_server, ws)
    async with client(live_server, ws.api_token) as api:
        slots = (await api.get(f"/conversations/{conv}/web-calls/slots", params={"locale": "en"})).json()
        assert slots["language"] == "en" and slots["slots"], slots
        first = slots["slots"][0]
        assert first["left"] == 1  # one staffed agent (the admin, widget capacity 3)
        # bad input
        for body, status, code in (
            ({"kind": "video", "scheduled_at": "2030-01-07T10:00:00"}, 422, "invalid_slot"),
            ({"kind": "fax", "scheduled_at": first["start"]}, 422, None),
            ({"kind": "video", "scheduled_at": first["start"], "extra": 1}, 422, None),
            ({"kind": "video", "scheduled_at": "2030-01-07T03:17:00+09:00"}, 409, "slot_unavailable"),
            ({"kind": "video"}, 422, None),
        ):
            assert_error(await api.post(f"/conversations/{conv}/web-calls", json=body), status, code)
        assert_error(await api.get(f"/conversations/{conv}/web-calls/slots", params={"days": 99}), 422)
        r = await api.post(
            f"/conversations/{conv}/web-calls", json={"kind": "voice", "scheduled_at": first["start"]}
        )
        assert r.status_code == 201, r.text
        booked = r.json()
        assert booked["status"] == "scheduled" and booked["kind"] == "voice"
        # full now: the slot is no longer offered, a second booking is refused
        again = (await api.get(f"/conversations/{conv}/web-calls/slots")).json()["slots"]
        assert first["start"] not in [s["start"] for s in again]
        r = await api.post(
            f"/conversations/{conv}/web-calls", json={"kind": "video", "scheduled_at": first["start"]}
        )
        assert_error(r, 409, "slot_unavailable")
        # cancelled: offered again; cancelling twice is a conflict
        assert (await api.post(f"/web-calls/{booked['id']}/cancel")).json()["status"] == "cancelled"
        assert_error(await api.post(f"/web-calls/{booked['id']}/cancel"), 409, "call_not_scheduled")
    async with client(live_server, other.api_token) as api:
        assert_error(
            await api.post(
                f"/conversations/{conv}/web-calls", json={"kind": "video", "scheduled_at": first["start"]}
            ),
            404,
        )
        assert_error(await api.get(f"/conversations/{conv}/web-calls/slots"), 404)
    # the customer books in the widget; the confirmation is in the conversation, in Korean
    async with httpx.AsyncClient(base_url=f"{live_server.url}/widget/v1/{ws.inbox_token}") as w:
        headers = {"X-Sodam-Visitor": token}
        assert (await w.get("/web-calls/config", headers=headers)).json()["strings"]["accept"] == "받기"
        assert_error(await w.get("/web-calls/config"), 401)
        offered = (await w.get("/web-calls/slots", headers=headers)).json()["slots"]
        r = await w.post(
            "/web-calls", json={"kind": "video", "scheduled_at": offered[0]["start"]}, headers=headers
        )
        assert r.status_code == 201, r.text
        assert "예약되었습니다" in r.json()["message"] and r.json()["conversation_id"] == conv
        assert_error(
            await w.post(
                "/web-calls",
                json={"kind": "video", "scheduled_at": "2030-01-07T03:17:00+09:00"},
                headers=headers,
            ),
            409,
            "slot_unavailable",
        )
    async with session_scope() as session:
        confirmation = await session.scalar(
            select(Message).where(Message.client_id == f"web_call:{r.json()['id']}:booked")
        )
    assert confirmation.content.startswith("영상 통화가 ") and confirmation.kind.value == "system"
    # a widget whose inbox does not let customers ask offers no booking
    off_token, _c, _conv = await _visitor(live_server, other)
    async with httpx.AsyncClient(base_url=f"{live_server.url}/widget/v1/{other.inbox_token}") as w:
        r = await w.post(
            "/web-calls",
            json={"kind": "video", "scheduled_at": offered[0]["start"]},
            headers={"X-Sodam-Visitor": off_token},
        )
        assert_error(r, 404, "calls_off")


async def test_an_unanswered_call_is_missed_by_the_ring_timeout(live_server, make_workspace):
    ws = await make_workspace()
    _token, _contact, conv = await _visitor(live_server, ws)
    async with session_scope() as session:
        call = await calls.invite(
            session, workspace_id=ws.workspace_id, conversation_id=conv, agent_id=ws.agent_id, kind="voice"
        )
        rang = call.ringing_at.isoformat()
        call_id = call.id
    async with session_scope() as session:
        assert not await calls.ring_timeout(session, call_id=call_id, ringing_at="2000-01-01T00:00:00+00:00")
        assert await calls.ring_timeout(session, call_id=call_id, ringing_at=rang)
    async with session_scope() as session:
        call = await session.get(WebCall, call_id)
        assert (call.status, call.outcome, call.ended_by) == ("ended", "missed", "system")
        record = await session.scalar(select(Message).where(Message.client_id == f"web_call:{call_id}:ended"))
        assert record.content == "음성 통화 · 부재중"
        # ended once: a late timeout changes nothing
        assert not await calls.ring_timeout(session, call_id=call_id, ringing_at=rang)
    assert call.ended_at - call.ringing_at < timedelta(minutes=5)
    assert call.ringing_at <= datetime.now(UTC)


async def test_the_sweep_ends_silent_calls_reminds_and_misses_booked_ones(live_server, make_workspace):
    """Both pages gone without an end frame: the call ends at its last heartbeat. A booked call
    is reminded in the conversation (once) ten minutes ahead; one nobody started is missed."""
    ws = await make_workspace()
    _token, contact, conv = await _visitor(live_server, ws)
    now = datetime.now(UTC)
    async with session_scope() as session:
        call = await calls.invite(
            session, workspace_id=ws.workspace_id, conversation_id=conv, agent_id=ws.agent_id, kind="video"
        )
        await calls.accept(session, call=call, by="contact")
        call.started_at = now - timedelta(minutes=10)
        await session.flush()
        await calls.alive(session, call=call)  # a heartbeat: alive now, the sweep leaves it
        await session.commit()
        live_id = call.id
    async with session_scope() as session:
        await calls.sweep(session)
        await session.commit()
        assert (await session.get(WebCall, live_id)).status == "active"
        await session.execute(
            text("UPDATE web_calls SET alive_at = :at WHERE id = :id"),
            {"at": now - timedelta(minutes=4), "id": live_id},
        )
        await session.commit()
    async with session_scope() as session:
        await calls.sweep(session)
        await session.commit()
    async with session_scope() as session:
        ended = await session.get(WebCall, live_id)
        assert (ended.status, ended.outcome, ended.ended_by) == ("ended", "completed", "system")
        assert ended.duration_s == 6 * 60  # from the answer to the last heartbeat

        def booked(kind: str, at: datetime) -> WebCall:
            return WebCall(
                workspace_id=ws.workspace_id,
                conversation_id=conv,
                inbox_id=ws.inbox_id,
                contact_id=contact,
                kind=kind,
                initiator="contact",
                status="scheduled",
                scheduled_at=at,
            )

        soon = booked("voice", now + timedelta(minutes=5))
        late = booked("video", now - timedelta(minutes=31))
        later = booked("video", now + timedelta(hours=3))
        session.add_all([soon, late, later])
        await session.commit()
        ids = (soon.id, late.id, later.id)
    for _ in range(2):  # twice: reminded once (a test server's periodic sweep may run it too)
        async with session_scope() as session:
            await calls.sweep(session)
            await session.commit()
    async with session_scope() as session:
        soon, late, later = [await session.get(WebCall, i) for i in ids]
        assert soon.status == "scheduled" and soon.reminded_at is not None
        assert (late.status, late.outcome) == ("ended", "missed")
        assert later.status == "scheduled" and later.reminded_at is None
        reminders = list(
            await session.scalars(select(Message).where(Message.client_id == f"web_call:{soon.id}:reminder"))
        )
        assert len(reminders) == 1 and reminders[0].content.startswith("예약하신 음성 통화가 곧 시작됩니다")
        missed = await session.scalar(select(Message).where(Message.client_id == f"web_call:{late.id}:ended"))
        assert missed.content == "영상 통화 · 부재중"
