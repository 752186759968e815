"""Outgoing webhooks against a real HTTP receiver on loopback, delivered by the live server's
worker: signed, retried with the same id, dead-lettered, redelivered, paused."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sodam.accounts import service as accounts
from sodam.config import Settings
from sodam.db.session import session_scope
from sodam.webhooks import signing
from sodam.webhooks.worker import retry_delay_s
from tests.test_console_helpers import console_client
from tests.webhooks.helpers import api, api_inbox, open_conversation, subscribe
from tests.webhooks.receiver import Receiver

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


def docs_verifier():
    """The Python snippet of docs/webhooks.md, run as a receiver would paste it."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_sodam_signature"]


def node_verifies(secret: str, body: bytes, header: str) -> bool:
    """Run the Node.js snippet of docs/webhooks.md on these bytes."""
    code = re.search(r"```js\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    script = code + (
        "\nconst [secret, bodyB64, header] = process.argv.slice(1);"
        "\nprocess.stdout.write(String(verifySodamSignature(secret, Buffer.from(bodyB64, 'base64'), header)));"
    )
    out = subprocess.run(  # noqa: S603 - node with our own documentation's code
        ["node", "-e", script, secret, base64.b64encode(body).decode(), header],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout == "true"


async def test_an_agent_reply_reaches_the_callback_url_signed(live_server, make_workspace, receiver):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        sub = await subscribe(client, receiver.url, inbox_id=inbox_id)
        assert sub["secret"].startswith("whsec_") and sub["events"] == ["message.created"]
        # The secret is shown once: never listed again.
        listed = (await client.get("/api/v1/webhooks")).json()
        assert listed and all("secret" not in s for s in listed)

        made = await open_conversation(client, inbox_id, source_id="+821012345678")
        cid = made["conversation"]["id"]
        note = await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"content": "내부 메모", "private": True}
        )
        assert note.status_code == 201
        reply = await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"content": "내일 도착 예정입니다."}
        )
        assert reply.status_code == 201

        await receiver.wait_for(lambda: receiver.requests)
        got = receiver.requests[0]
        event = got.json
        assert event["type"] == "message.created" and event["workspace_id"] == ws.workspace_id
        assert event["data"]["message"]["content"] == "내일 도착 예정입니다."
        assert event["data"]["message"]["sender_type"] == "agent"
        assert event["data"]["contact"]["source_id"] == "+821012345678"
        assert got.headers["sodam-webhook-id"] == event["id"]
        # Both the library's check and the snippet from the docs accept it; a wrong secret or
        # a changed byte does not.
        header = got.headers["sodam-signature"]
        assert signing.verify(sub["secret"], got.body, header)
        verify = docs_verifier()
        assert verify(sub["secret"], got.body, header)
        assert not verify("whsec_wrong", got.body, header)
        assert not verify(sub["secret"], got.body.replace("내일".encode(), "모레".encode()), header)
        stale = signing.header(sub["secret"], got.body, int(time.time()) - 600)
        assert not verify(sub["secret"], got.body, stale)
        if shutil.which("node"):  # the Node.js snippet too, on the raw bytes
            assert node_verifies(sub["secret"], got.body, header)
            assert not node_verifies(sub["secret"], got.body + b" ", header)

        # Only the public reply: neither the customer's message nor the private note went out.
        await asyncio.sleep(1.0)
        assert len(receiver.requests) == 1


async def test_a_500_then_200_is_processed_once_with_the_same_id(live_server, make_workspace, receiver):
    ws = await make_workspace()
    receiver.statuses = [500]
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        sub = await subscribe(client, receiver.url, events=["conversation.created"])
        await open_conversation(client, inbox_id)
        await receiver.wait_for(lambda: len(receiver.requests) >= 2)
        first, second = receiver.requests[:2]
        assert first.json["id"] == second.json["id"] == first.headers["sodam-webhook-id"]
        assert first.body == second.body  # the same body every try (signed afresh)
        assert list(receiver.processed) == [first.json["id"]]
        assert receiver.duplicates == 0

        deliveries = (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries")).json()["data"]
        assert len(deliveries) == 1
        detail = None
        for _ in range(50):
            detail = (await client.get(f"/api/v1/webhooks/deliveries/{deliveries[0]['id']}")).json()
            if detail["status"] == "delivered":
                break
            await asyncio.sleep(0.1)
        assert detail["status"] == "delivered" and detail["attempts"] == 2
        assert [t["status_code"] for t in detail["tries"]] == [500, 200]
        assert detail["tries"][0]["response_snippet"] == '{"error":"boom"}'
        assert all(t["latency_ms"] >= 0 for t in detail["tries"])


async def test_dead_letter_after_the_last_try_then_redeliver(live_server, make_workspace, receiver):
    ws = await make_workspace()
    receiver.then = 503
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        sub = await subscribe(client, receiver.url, events=["contact.created"])
        await open_conversation(client, inbox_id, source_id="dead-letter")
        await receiver.wait_for(lambda: len(receiver.requests) >= 4)  # SODAM_WEBHOOK_MAX_ATTEMPTS=4 in tests

        dead = []
        for _ in range(50):
            dead = (
                await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", params={"status": "dead"})
            ).json()["data"]
            if dead:
                break
            await asyncio.sleep(0.1)
        assert len(dead) == 1 and dead[0]["attempts"] == 4 and dead[0]["last_status_code"] == 503
        assert len(receiver.requests) == 4 and not receiver.processed

        receiver.then = 200
        r = await client.post(f"/api/v1/webhooks/deliveries/{dead[0]['id']}/redeliver")
        assert r.status_code == 200 and r.json()["status"] == "pending"
        await receiver.wait_for(lambda: receiver.processed)
        assert list(receiver.processed) == [dead[0]["event_id"]]
        assert receiver.requests[-1].json["type"] == "contact.created"
        assert receiver.requests[-1].json["data"]["contact"]["name"] == "김민지"


async def test_a_subscription_failing_in_a_row_is_paused_and_admins_told(
    live_server, make_workspace, receiver
):
    ws = await make_workspace()
    receiver.then = 500
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        sub = await subscribe(client, receiver.url, events=["conversation.created", "message.created"])
        for n in range(3):  # 3 conversations x 2 events x up to 4 tries: past the threshold of 6
            await open_conversation(client, inbox_id, source_id=f"p{n}")
        for _ in range(100):
            state = (await client.get(f"/api/v1/webhooks/{sub['id']}")).json()
            if state["status"] == "paused":
                break
            await asyncio.sleep(0.1)
        assert state["status"] == "paused" and state["consecutive_failures"] >= 6
        # Paused: nothing more is sent.
        await asyncio.sleep(1.0)
        sent = len(receiver.requests)
        await asyncio.sleep(1.0)
        assert len(receiver.requests) == sent

        notices = []
        for _ in range(100):
            async with session_scope() as session:
                notices = await accounts.unread_notices(
                    session, workspace_id=ws.workspace_id, agent_id=ws.agent_id
                )
            if any(n.kind == "webhook_paused" for n in notices):
                break
            await asyncio.sleep(0.1)
        paused = [n for n in notices if n.kind == "webhook_paused"]
        assert paused and paused[0].details["subscription_id"] == sub["id"]

        console = await console_client(live_server, ws.agent_email, ws.agent_password)
        page = await console.get("/console/settings/webhooks")
        assert page.status_code == 200 and "webhook-paused-line" in page.text
        home = await console.get("/console/settings")
        assert 'data-kind="webhook_paused"' in home.text
        await console.aclose()

        # Resumed once the receiver is fixed: what waited is delivered.
        receiver.then = 200
        r = await client.patch(f"/api/v1/webhooks/{sub['id']}", json={"status": "active"})
        assert r.status_code == 200 and r.json()["consecutive_failures"] == 0
        await receiver.wait_for(lambda: len(receiver.processed) >= 1)


async def test_workspace_events_follow_the_conversation(live_server, make_workspace, receiver):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        await subscribe(
            client,
            receiver.url,
            events=[
                "conversation.created",
                "conversation.assigned",
                "conversation.resolved",
                "message.created",
            ],
        )
        made = await open_conversation(client, inbox_id)
        cid = made["conversation"]["id"]
        await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"content": "비밀 메모", "private": True}
        )
        await client.post(f"/api/v1/conversations/{cid}/messages", json={"content": "확인해 드릴게요"})
        await client.patch(f"/api/v1/conversations/{cid}", json={"assignee_id": ws.agent_id})
        await client.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"})
        await receiver.wait_for(lambda: len(receiver.of_type("conversation.resolved")) == 1)
        await receiver.wait_for(lambda: len(receiver.of_type("message.created")) == 2)
        contents = sorted(r.json["data"]["message"]["content"] for r in receiver.of_type("message.created"))
        assert contents == sorted(["배송이 언제 오나요?", "확인해 드릴게요"])  # never the private note
        assert receiver.of_type("conversation.created")[0].json["data"]["conversation"]["id"] == cid
        assigned = receiver.of_type("conversation.assigned")[0].json["data"]
        assert assigned["assignee"] == {"from": None, "to": ws.agent_id}
        assert len({r.json["id"] for r in receiver.requests}) == len(receiver.requests)


async def test_unsafe_urls_are_refused(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        cases = {
            "ftp://example.com/hook": "invalid_url_scheme",
            "http://user:pw@127.0.0.1/hook": "url_credentials",
            "http://10.1.2.3/hook": "url_not_allowed",
            "http://169.254.169.254/latest/meta-data": "url_not_allowed",
            "http://192.168.0.10:8080/": "url_not_allowed",
            "http://[::1]/hook": "url_not_allowed",
            "http://127.0.0.2/hook": "url_not_allowed",  # only 127.0.0.1/32 is allowed in tests
            "http://[::ffff:10.0.0.1]/": "url_not_allowed",
            "http://0.0.0.0/": "url_not_allowed",
        }
        for url, code in cases.items():
            r = await client.post("/api/v1/webhooks", json={"url": url, "events": ["message.created"]})
            assert r.status_code == 422 and r.json()["error"]["code"] == code, (url, r.text)
        r = await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["nope"]})
        assert r.json()["error"]["code"] == "unknown_event_type"
        # A callback belongs to an API inbox only.
        r = await client.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "inbox_id": ws.inbox_id}
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "not_an_api_inbox"
        assert (await client.get("/api/v1/webhooks")).json() == []


async def test_secrets_rotate_and_agents_cannot_manage_webhooks(live_server, make_workspace):
    from sodam.accounts.models import Role

    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        sub = await subscribe(client, "http://127.0.0.1:9/x", events=["contact.created"])
        rotated = (await client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret")).json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != sub["secret"]
    agent_ws = await make_workspace(role=Role.agent)
    async with api(live_server, agent_ws.api_token) as agent:
        r = await agent.get("/api/v1/webhooks")
        assert r.status_code == 403 and r.json()["error"]["details"]["permission"] == "webhooks.manage"


async def test_another_workspace_sees_no_webhooks(live_server, make_workspace, receiver):
    ws = await make_workspace()
    receiver.then = 500
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        sub = await subscribe(client, receiver.url, events=["conversation.created"])
        await open_conversation(client, inbox_id)
        await receiver.wait_for(lambda: receiver.requests)
        delivery = (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries")).json()["data"][0]
    stranger = await make_workspace()
    async with api(live_server, stranger.api_token) as other:
        for method, path in [
            ("GET", f"/api/v1/webhooks/{sub['id']}"),
            ("PATCH", f"/api/v1/webhooks/{sub['id']}"),
            ("DELETE", f"/api/v1/webhooks/{sub['id']}"),
            ("POST", f"/api/v1/webhooks/{sub['id']}/rotate-secret"),
            ("GET", f"/api/v1/webhooks/{sub['id']}/deliveries"),
            ("GET", f"/api/v1/webhooks/deliveries/{delivery['id']}"),
            ("POST", f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver"),
        ]:
            r = await other.request(method, path, json={} if method == "PATCH" else None)
            assert r.status_code == 404, (method, path, r.status_code)
        assert (await other.get("/api/v1/webhooks")).json() == []
        r = await other.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "inbox_id": inbox_id})
        assert r.status_code == 404
    # Nothing of it changed: still there, same secret (a rotation would have shown a new one).
    async with api(live_server, ws.api_token) as client:
        assert (await client.get(f"/api/v1/webhooks/{sub['id']}")).json()["status"] == "active"
    stranger_console = await console_client(live_server, stranger.agent_email, stranger.agent_password)
    page = await stranger_console.get("/console/settings/webhooks")
    assert receiver.url not in page.text
    csrf = stranger_console.cookies.get("sodam_csrf")
    for path in [
        f"/console/settings/webhooks/deliveries/{delivery['id']}/redeliver",
        f"/console/settings/webhooks/{sub['id']}/status",
        f"/console/settings/webhooks/{sub['id']}/rotate",
        f"/console/settings/webhooks/{sub['id']}/delete",
    ]:
        r = await stranger_console.post(path, data={"csrf_token": csrf})
        assert r.status_code == 404, path
    async with api(live_server, ws.api_token) as client:
        assert (await client.get(f"/api/v1/webhooks/{sub['id']}")).json()["status"] == "active"
    await stranger_console.aclose()


def test_backoff_grows_with_jitter_and_the_defaults():
    s = Settings(webhook_retry_base_s=60, webhook_retry_factor=3, webhook_retry_max_s=43200)
    assert 45 <= retry_delay_s(1, s) <= 75
    assert 0.75 * 60 * 27 <= retry_delay_s(4, s) <= 1.25 * 60 * 27
    assert retry_delay_s(20, s) <= 43200 * 1.25
    total = sum(60 * 3 ** (n - 1) for n in range(1, 8))  # the 7 waits between 8 tries
    assert 12 * 3600 < total < 30 * 3600  # about a day
    defaults = {name: f.default for name, f in Settings.model_fields.items()}  # the suite's env aside
    assert defaults["webhook_pause_after"] == 100 and defaults["webhook_max_attempts"] == 8
    assert defaults["webhook_allow_networks"] == ""  # fresh installs refuse loopback


def test_envelope_is_stable_json():
    from datetime import UTC, datetime

    from sodam.webhooks.service import envelope

    body = envelope(
        event_id="evt_x",
        type="message.created",
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        workspace_id=3,
        data={"a": "한글"},
    )
    assert json.loads(body) == {
        "id": "evt_x",
        "type": "message.created",
        "created_at": "2026-01-02T00:00:00Z",
        "workspace_id": 3,
        "data": {"a": "한글"},
    }
    assert "한글" in body


async def test_the_bots_answer_in_an_api_inbox_reaches_the_callback(live_server, make_workspace, receiver):
    from sodam.knowledge import service as knowledge

    ws = await make_workspace()
    async with session_scope() as session:
        await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="환불 신청 방법",
            body="마이페이지 > 주문 내역에서 환불 신청 버튼을 눌러 주세요. 영업일 3일 안에 처리됩니다.",
            locale="ko",
            status="published",
            alternate_questions=["환불해주세요", "환불 어떻게 하나요?"],
        )
    async with api(live_server, ws.api_token) as client:
        r = await client.post(
            "/api/v1/inboxes",
            json={"name": "SMS 봇", "channel_type": "api", "settings": {"bot_enabled": True}},
        )
        inbox_id = r.json()["id"]
        await subscribe(client, receiver.url, inbox_id=inbox_id)
        made = await open_conversation(client, inbox_id, source_id="bot-1", content="환불 어떻게 하나요?")
        # The message path ran the bot as for the widget; its answer goes out to the platform.
        await receiver.wait_for(lambda: receiver.requests, within_s=40)
        event = receiver.requests[0].json
        assert event["data"]["message"]["sender_type"] == "bot"
        assert event["data"]["conversation"]["id"] == made["conversation"]["id"]
        assert event["data"]["contact"]["source_id"] == "bot-1"
        stored = (await client.get(f"/api/v1/conversations/{made['conversation']['id']}/messages")).json()[
            "data"
        ]
        bot_public = [m for m in stored if m["sender_type"] == "bot" and m["kind"] != "note"]
        assert event["data"]["message"]["content"] in [m["content"] for m in bot_public]


async def test_hostile_urls_are_422_not_500():
    from sodam.core.errors import Invalid
    from sodam.webhooks import ssrf

    for url in [
        "http://exa\x00mple.com/",
        "http://\udcff.example/",
        "http://" + "a" * 300 + ".com/",
        "http://[::1",
        "http://:80/",
    ]:
        with pytest.raises(Invalid):
            await ssrf.check_url(url, allow="")


async def test_finished_deliveries_are_purged_after_the_keep_days(make_workspace):
    from sqlalchemy import text

    from sodam.webhooks import service
    from sodam.webhooks.tasks import purge

    ws = await make_workspace()
    async with session_scope() as session:
        sub, _secret = await service.create(
            session, workspace_id=ws.workspace_id, url="http://127.0.0.1:9/x", events=["contact.created"]
        )
        for key, status, age_days in [
            ("old", "delivered", 40),
            ("new", "delivered", 1),
            ("waiting", "pending", 40),
        ]:
            await service.enqueue(
                session,
                workspace_id=ws.workspace_id,
                subscription_ids=[sub.id],
                event_key=key,
                type="contact.created",
                data={},
            )
            await session.execute(
                text(
                    "UPDATE webhook_deliveries SET status = :s, next_attempt_at = now() + interval '1 day',"
                    " delivered_at = now() - make_interval(days => :d) WHERE event_id = :e AND subscription_id = :sub"
                ),
                {"s": status, "d": age_days, "e": f"evt_{key}", "sub": sub.id},
            )
        await session.commit()
    await purge(timestamp=0)
    async with session_scope() as session:
        left = (
            await session.scalars(
                text("SELECT event_id FROM webhook_deliveries WHERE subscription_id = :s ORDER BY event_id"),
                {"s": sub.id},
            )
        ).all()
    assert left == ["evt_new", "evt_waiting"]  # a pending delivery is never purged


async def test_a_delivery_left_by_a_dead_worker_is_sent_when_its_lease_ends(
    live_server, make_workspace, receiver
):
    from sqlalchemy import text

    from sodam.webhooks import service

    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        sub = await subscribe(client, receiver.url, events=["contact.created"])
        # What a worker killed mid-send leaves: the try counted, the lease (next_attempt_at) running.
        async with session_scope() as session:
            await service.enqueue(
                session,
                workspace_id=ws.workspace_id,
                subscription_ids=[sub["id"]],
                event_key="orphan1",
                type="contact.created",
                data={"contact": {"id": 1}},
            )
            await session.execute(
                text(
                    "UPDATE webhook_deliveries SET attempts = 1, next_attempt_at = now() + interval '1 second'"
                    " WHERE subscription_id = :s"
                ),
                {"s": sub["id"]},
            )
            await session.commit()
        await asyncio.sleep(0.5)
        assert receiver.requests == []  # leased: nobody takes it yet
        await receiver.wait_for(lambda: receiver.processed)
        assert list(receiver.processed) == ["evt_orphan1"]
        (delivery,) = (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries")).json()["data"]
        for _ in range(50):
            detail = (await client.get(f"/api/v1/webhooks/deliveries/{delivery['id']}")).json()
            if detail["status"] == "delivered":
                break
            await asyncio.sleep(0.1)
        assert detail["status"] == "delivered" and detail["attempts"] == 2
        assert [t["attempt"] for t in detail["tries"]] == [2]
