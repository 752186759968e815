"""Social mentions over HTTP: taken in through an API inbox idempotently, scored, alerted on,
converted into a conversation, dismissed; and kept inside their workspace."""

from __future__ import annotations

from sqlalchemy import text

from sodam.db.session import session_scope
from sodam.mentions.tasks import score
from tests.test_console_helpers import console_client, post
from tests.webhooks.helpers import api, api_inbox

NEGATIVE = "배송이 2주째 안 와요. 고객센터도 연락이 안 되고 정말 최악입니다"
POSITIVE = "소담몰 배송 진짜 빠르네요! 포장도 꼼꼼하고 너무 만족합니다"


def mention(n: int, content: str = NEGATIVE, **extra) -> dict:
    return {
        "external_id": f"post-{n}",
        "platform": "instagram",
        "author_handle": f"user_{n}",
        "author_name": f"고객{n}",
        "url": f"https://instagram.example/p/{n}",
        "content": content,
        **extra,
    }


async def test_a_mention_is_taken_in_once_scored_and_converted(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client, "인스타그램")
        first = await client.post(f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(1))
        assert first.status_code == 201, first.text
        made = first.json()
        assert made["status"] == "new" and made["platform"] == "instagram"
        # Posting the same post again is the same mention.
        again = await client.post(f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(1))
        assert again.status_code == 200 and again.json()["id"] == made["id"]

        assert await score(mention_id=made["id"]) == "negative"
        got = (await client.get(f"/api/v1/mentions/{made['id']}")).json()
        assert got["sentiment_label"] == "negative" and got["sentiment_score"] < 0

        listed = await client.get("/api/v1/mentions", params={"sentiment": "negative", "limit": 1})
        assert [m["id"] for m in listed.json()["data"]] == [made["id"]]

        converted = await client.post(f"/api/v1/mentions/{made['id']}/convert")
        assert converted.status_code == 200, converted.text
        conversation_id = converted.json()["conversation_id"]
        assert converted.json()["status"] == "converted" and conversation_id
        # Converting twice opens nothing new.
        twice = await client.post(f"/api/v1/mentions/{made['id']}/convert")
        assert twice.json()["conversation_id"] == conversation_id
        messages = (await client.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["data"]
        assert [m["content"] for m in messages if m["sender_type"] == "contact"] == [
            f"{NEGATIVE}\n\nhttps://instagram.example/p/1"
        ]
        # A converted mention stays with its conversation.
        refused = await client.post(f"/api/v1/mentions/{made['id']}/dismiss")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "mention_converted"


async def test_bad_mentions_get_clear_errors(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        bad_url = await client.post(
            f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(1, url="javascript:alert(1)")
        )
        assert bad_url.status_code == 422 and bad_url.json()["error"]["code"] == "invalid_url"
        empty = await client.post(f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(2, content=""))
        assert empty.status_code == 422
        # The widget inbox is not an API inbox.
        widget = await client.post(f"/api/v1/inboxes/{ws.inbox_id}/mentions", json=mention(3))
        assert widget.status_code == 409 and widget.json()["error"]["code"] == "not_an_api_inbox"
        assert (await client.get("/api/v1/mentions")).json()["data"] == []


async def test_negative_mentions_over_the_threshold_tell_the_managers_once_an_hour(
    live_server, make_workspace
):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        r = await client.post(
            "/api/v1/inboxes",
            json={"name": "X", "channel_type": "api", "settings": {"mention_alert_threshold": 2}},
        )
        inbox_id = r.json()["id"]
        ids = []
        for n, content in enumerate((NEGATIVE, POSITIVE, NEGATIVE + "!!", NEGATIVE + " 환불해 주세요")):
            ids.append(
                (await client.post(f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(n, content))).json()[
                    "id"
                ]
            )
        for mention_id in ids:
            await score(mention_id=mention_id)
    async with session_scope() as session:
        alerts = (
            await session.execute(
                text("SELECT negative_count FROM mention_alerts WHERE inbox_id = :i"), {"i": inbox_id}
            )
        ).all()
        notices = await session.scalar(
            text("SELECT count(*) FROM agent_notices WHERE workspace_id = :w AND kind = 'mentions_negative'"),
            {"w": ws.workspace_id},
        )
    # The second negative one reached the threshold; the third did not alert again this hour.
    assert [a.negative_count for a in alerts] == [2]
    assert notices == 1  # one 매니저 (the workspace's admin)

    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    page = await console.get("/console")
    assert "부정적인 멘션이 2건" in page.text or "2 negative mentions" in page.text
    await console.aclose()


async def test_the_console_lists_converts_and_dismisses(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as client:
        inbox_id = await api_inbox(client)
        keep = (await client.post(f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(1))).json()["id"]
        drop = (
            await client.post(
                f"/api/v1/inboxes/{inbox_id}/mentions",
                json=mention(2, "<script>alert(1)</script> 그냥 그래요", url=None),
            )
        ).json()["id"]
    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    page = await console.get("/console/mentions")
    assert page.status_code == 200, page.text[-3000:]
    assert f'data-mention-id="{keep}"' in page.text and f'data-mention-id="{drop}"' in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert 'rel="noopener noreferrer nofollow"' in page.text

    r = await post(console, f"/console/mentions/{drop}/dismiss")
    assert r.status_code == 303
    r = await post(console, f"/console/mentions/{keep}/convert")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/conversations/")
    new_only = await console.get("/console/mentions")
    assert (
        f'data-mention-id="{keep}"' not in new_only.text and f'data-mention-id="{drop}"' not in new_only.text
    )
    # Without the CSRF token nothing happens.
    forged = await console.post(f"/console/mentions/{keep}/dismiss")
    assert forged.status_code == 403
    await console.aclose()


async def test_mentions_stay_in_their_workspace(live_server, make_workspace):
    ours, theirs = await make_workspace(), await make_workspace()
    async with api(live_server, ours.api_token) as client, api(live_server, theirs.api_token) as other:
        inbox_id = await api_inbox(client)
        made = (await client.post(f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(1))).json()
        assert (await other.post(f"/api/v1/inboxes/{inbox_id}/mentions", json=mention(2))).status_code == 404
        assert (await other.get(f"/api/v1/mentions/{made['id']}")).status_code == 404
        assert (await other.post(f"/api/v1/mentions/{made['id']}/convert")).status_code == 404
        assert (await other.post(f"/api/v1/mentions/{made['id']}/dismiss")).status_code == 404
        assert (await other.get("/api/v1/mentions")).json()["data"] == []
    console = await console_client(live_server, theirs.agent_email, theirs.agent_password)
    assert f'data-mention-id="{made["id"]}"' not in (await console.get("/console/mentions?status=all")).text
    r = await post(console, f"/console/mentions/{made['id']}/convert")
    assert r.status_code == 303 and "error=not_found" in r.headers["location"]
    await console.aclose()
