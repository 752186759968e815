"""REST API for canned replies over real HTTP: CRUD, search with paging, permissions,
workspace isolation, rendering for a conversation."""

from __future__ import annotations

from sodam.accounts.models import Role
from tests.test_api_helpers import assert_error, client, new_token, seed_conversation, walk


async def test_crud_search_and_render(live_server, make_workspace):
    ws = await make_workspace()  # the fixture's agent is an admin
    seeded = await seed_conversation(ws, name="김민지")
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/canned-replies",
            json={
                "shortcut": "/배송",  # a leading slash is forgiven
                "title": "배송 지연 안내",
                "body": "{{contact.first_name}}님, 배송이 지연되어 죄송합니다.\n{{agent.name}} 드림",
                "scope": "workspace",
            },
        )
        assert r.status_code == 201, r.text
        reply = r.json()
        assert reply["shortcut"] == "배송" and reply["scope"] == "workspace" and reply["usage_count"] == 0
        dup = await api.post(
            "/canned-replies", json={"shortcut": "배송", "title": "x", "body": "x", "scope": "workspace"}
        )
        assert_error(dup, 409, "shortcut_taken")
        assert_error(
            await api.post("/canned-replies", json={"shortcut": "두 단어", "title": "x", "body": "x"}), 422
        )
        assert_error(
            await api.post(
                "/canned-replies", json={"shortcut": "t", "title": "x", "body": "x", "scope": "team"}
            ),
            422,
        )
        refund = (
            await api.post(
                "/canned-replies",
                json={"shortcut": "환불", "title": "환불 안내", "body": "환불은 3일 걸립니다."},
            )
        ).json()
        assert refund["scope"] == "personal"

        assert (await api.get(f"/canned-replies/{reply['id']}")).json()["title"] == "배송 지연 안내"
        changed = await api.patch(f"/canned-replies/{reply['id']}", json={"title": "배송 지연 사과"})
        assert changed.status_code == 200 and changed.json()["title"] == "배송 지연 사과"

        found = await api.get("/canned-replies", params={"q": "환불해"})
        assert [x["id"] for x in found.json()["data"]] == [refund["id"]]
        found = await api.get("/canned-replies", params={"q": "지연되면"})
        assert [x["id"] for x in found.json()["data"]] == [reply["id"]]

        rendered = await api.post(
            f"/canned-replies/{reply['id']}/render", params={"conversation_id": seeded.conversation_id}
        )
        assert rendered.status_code == 200, rendered.text
        assert rendered.json()["text"].startswith("민지님, 배송이 지연되어 죄송합니다.\n")
        assert "{{" not in rendered.json()["text"]
        assert (await api.get(f"/canned-replies/{reply['id']}")).json()["usage_count"] == 1
        assert_error(
            await api.post(f"/canned-replies/{reply['id']}/render", params={"conversation_id": 9_999_999}),
            404,
        )

        assert (await api.delete(f"/canned-replies/{refund['id']}")).status_code == 204
        assert_error(await api.get(f"/canned-replies/{refund['id']}"), 404)


async def test_paging_with_and_without_a_search(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        for i in range(7):
            r = await api.post(
                "/canned-replies",
                json={"shortcut": f"배송{i}", "title": f"배송 안내 {i}", "body": "배송 관련 안내입니다."},
            )
            assert r.status_code == 201
        await api.post("/canned-replies", json={"shortcut": "인사", "title": "인사", "body": "안녕하세요"})
        everything = await walk(api, "/canned-replies", 3)
        assert len(everything) == 8 and len({x["id"] for x in everything}) == 8
        searched = await walk(api, "/canned-replies", 2, q="배송")
        assert len(searched) == 7 and len({x["id"] for x in searched}) == 7
        first = await api.get("/canned-replies", params={"q": "배송", "limit": 2})
        other = await api.get("/canned-replies", params={"q": "인사", "cursor": first.json()["next_cursor"]})
        assert_error(other, 400, "invalid_cursor")


async def test_agents_keep_personal_replies_and_need_a_manager_to_share(live_server, make_workspace):
    ws = await make_workspace()
    agent_token = await new_token(ws, ["read", "write"], role=Role.agent)
    other_agent_token = await new_token(ws, ["read", "write"], role=Role.agent)
    supervisor_token = await new_token(ws, ["read", "write"], role=Role.supervisor)
    async with (
        client(live_server, agent_token) as agent,
        client(live_server, other_agent_token) as other,
        client(live_server, supervisor_token) as supervisor,
    ):
        refused = await agent.post(
            "/canned-replies", json={"shortcut": "공지", "title": "x", "body": "x", "scope": "workspace"}
        )
        body = assert_error(refused, 403, "permission_required")
        assert body["details"] == {"permission": "replies.manage", "role": "agent"}
        mine = await agent.post("/canned-replies", json={"shortcut": "공지", "title": "내 공지", "body": "x"})
        assert mine.status_code == 201
        # Another agent cannot see, change or render it: 404, as if it did not exist.
        assert_error(await other.get(f"/canned-replies/{mine.json()['id']}"), 404)
        assert_error(await other.patch(f"/canned-replies/{mine.json()['id']}", json={"title": "y"}), 404)
        assert (await other.get("/canned-replies")).json()["data"] == []
        shared = await supervisor.post(
            "/canned-replies", json={"shortcut": "공지", "title": "공지", "body": "x", "scope": "workspace"}
        )
        assert shared.status_code == 201
        assert [x["id"] for x in (await other.get("/canned-replies")).json()["data"]] == [shared.json()["id"]]
        assert_error(await other.patch(f"/canned-replies/{shared.json()['id']}", json={"title": "y"}), 403)
        assert_error(await other.delete(f"/canned-replies/{shared.json()['id']}"), 403)
        # Moving one's own reply to the whole workspace is sharing too.
        assert_error(
            await agent.patch(f"/canned-replies/{mine.json()['id']}", json={"scope": "workspace"}), 403
        )
    read_only = await new_token(ws, ["read"])
    async with client(live_server, read_only) as api:
        assert (await api.get("/canned-replies")).status_code == 200
        assert_error(
            await api.post("/canned-replies", json={"shortcut": "a", "title": "a", "body": "a"}), 403
        )


async def test_another_workspaces_reply_is_not_found(live_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    b_conversation = await seed_conversation(b, name="비밀 고객")
    async with client(live_server, a.api_token) as api_a, client(live_server, b.api_token) as api_b:
        theirs = (
            await api_b.post(
                "/canned-replies", json={"shortcut": "비밀", "title": "B", "body": "B", "scope": "workspace"}
            )
        ).json()
        ours = (
            await api_a.post(
                "/canned-replies", json={"shortcut": "우리", "title": "A", "body": "{{contact.name}}"}
            )
        ).json()
        for response in (
            await api_a.get(f"/canned-replies/{theirs['id']}"),
            await api_a.patch(f"/canned-replies/{theirs['id']}", json={"title": "침입"}),
            await api_a.delete(f"/canned-replies/{theirs['id']}"),
            await api_a.post(f"/canned-replies/{theirs['id']}/render"),
            # B's conversation through A's own reply: its contact's name must not leak.
            await api_a.post(
                f"/canned-replies/{ours['id']}/render",
                params={"conversation_id": b_conversation.conversation_id},
            ),
        ):
            assert_error(response, 404)
        assert (await api_a.get("/canned-replies", params={"q": "비밀"})).json()["data"] == []
        assert (await api_b.get(f"/canned-replies/{theirs['id']}")).json()["title"] == "B"
