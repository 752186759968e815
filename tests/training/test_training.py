"""Training sandbox: a scenario from a known resolved conversation (anonymised, the original's
figures kept), playback pacing on the domain clock (no sleeping), scoring with hand-computed
parts, review + badges + leaderboard, workspace isolation and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from sodam.accounts.models import Role
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Message, SenderType, Status
from sodam.db.session import session_scope
from sodam.knowledge import service as knowledge
from sodam.surveys import service as surveys
from sodam.surveys.models import SurveyAnswer
from sodam.training import board, clock, scoring, service
from sodam.training.models import TrainingScenario
from tests.test_api_helpers import assert_error, client, new_token

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()


async def known_conversation(ws, *, resolve: bool = True, csat: int | None = 4) -> tuple[int, int]:
    """김민지 asks about a late parcel (phone, e-mail, order and address in her words); the agent
    answers 90 s later with the shipping article; resolved; CSAT 4. Returns (conversation, article)."""
    async with session_scope() as session:
        article = await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="배송 조회 방법",
            body="주문 내역에서 송장 번호로 조회하세요.",
            status="published",
        )
        contact = await contacts.create(
            session, workspace_id=ws.workspace_id, name="김민지", email="minji.kim@gmail.com"
        )
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        lines = [
            ("c", 0, "안녕하세요, 김민지입니다. 주문번호 2024120512345 배송이 안 와요"),
            ("c", 20, "연락처는 010-1234-5678, 메일은 minji.kim@gmail.com 이에요"),
            (
                "a",
                90,
                f"민지 고객님, 확인해 보니 내일 도착합니다. http://x/help/{ws.slug}/articles/{article.id}",
            ),
            ("c", 150, "주소가 서울특별시 강남구 테헤란로 123 맞나요?"),
            ("a", 200, "네 맞습니다. 감사합니다."),
        ]
        for who, _at, text in lines:
            await conversations.create_message(
                session,
                conversation=conv,
                content=text,
                sender_type=SenderType.contact if who == "c" else SenderType.agent,
                sender_id=contact.id if who == "c" else ws.agent_id,
            )
        await session.flush()
        rows = (
            await session.scalars(
                select(Message).where(Message.conversation_id == conv.id).order_by(Message.seq)
            )
        ).all()
        for row, (_who, at, _text) in zip(rows, lines, strict=True):
            row.created_at = T0 + timedelta(seconds=at)
        if resolve:
            await conversations.set_status(
                session,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                status=Status.resolved,
                actor_id=ws.agent_id,
            )
        if csat is not None:
            survey = await surveys.create(session, workspace_id=ws.workspace_id, name="만족도", kind="csat")
            recipient, _ = await surveys.invite(
                session, survey=survey, contact_id=contact.id, conversation_id=conv.id
            )
            session.add(
                SurveyAnswer(
                    workspace_id=ws.workspace_id,
                    survey_id=survey.id,
                    recipient_id=recipient.id,
                    conversation_id=conv.id,
                    contact_id=contact.id,
                    kind="csat",
                    score=csat,
                    answers={},
                )
            )
        await session.commit()
        return conv.id, article.id


# -- pure parts --------------------------------------------------------------------------------
def test_schedule_keeps_the_original_pace_caps_gaps_and_speeds_up():
    messages = [
        {"role": "customer", "at_ms": 0},
        {"role": "customer", "at_ms": 20_000},
        {"role": "agent", "at_ms": 90_000},
        {"role": "customer", "at_ms": 150_000},
        {"role": "customer", "at_ms": 3_600_000},  # an hour later; gaps are capped at 2 minutes
    ]
    assert scoring.customer_schedule(messages, 1) == [0, 20_000, -1, 140_000, 260_000]
    assert scoring.customer_schedule(messages, 2) == [0, 10_000, -1, 70_000, 130_000]
    assert scoring.customer_schedule(messages, 4) == [0, 5_000, -1, 35_000, 65_000]


def test_score_parts_by_hand():
    # 120 s against the original's 90 s: 40 × 90/120 = 30; the article: 30; resolved: 30 → 90/100.
    out = scoring.score(
        first_reply_ms=120_000,
        original_first_reply_ms=90_000,
        used_article_ids={7},
        original_article_ids=[7],
        resolved=True,
        original_csat=4,
    )
    assert [(p["key"], p["points"], p["max"]) for p in out.parts] == [
        ("first_reply", 30, 40),
        ("article", 30, 30),
        ("resolved", 30, 30),
        ("csat", None, None),
    ]
    assert out.score == 90 and out.parts[3]["original_csat"] == 4
    # No article in the original: that part does not count; 40 + 0 of 70 → 57.
    out = scoring.score(
        first_reply_ms=10_000,
        original_first_reply_ms=90_000,
        used_article_ids=set(),
        original_article_ids=[],
        resolved=False,
        original_csat=None,
    )
    assert [p["points"] for p in out.parts] == [40, None, 0, None] and out.score == 57
    # No reply at all.
    assert (
        scoring.score(
            first_reply_ms=None,
            original_first_reply_ms=None,
            used_article_ids=set(),
            original_article_ids=[3],
            resolved=False,
            original_csat=None,
        ).score
        == 0
    )


# -- through the API ---------------------------------------------------------------------------
async def test_a_scenario_from_a_known_conversation_played_scored_reviewed(live_server, make_workspace):
    ws = await make_workspace()
    conv_id, article_id = await known_conversation(ws)
    agent_token = await new_token(ws, ["read", "write"], role=Role.agent)
    async with client(live_server, ws.api_token) as admin, client(live_server, agent_token) as trainee:
        # an agent may not build one; an open conversation may not become one
        assert_error(
            await trainee.post("/training/scenarios", json={"conversation_id": conv_id}),
            403,
            "permission_required",
        )
        r = await admin.post("/training/scenarios", json={"conversation_id": conv_id})
        assert r.status_code == 201, r.text
        scenario = r.json()
        assert_error(
            await admin.post("/training/scenarios", json={"conversation_id": conv_id}), 409, "scenario_exists"
        )
        assert scenario["original_first_reply_ms"] == 90_000
        assert scenario["original_article_ids"] == [article_id] and scenario["original_csat"] == 4
        assert scenario["customer_messages"] == 3 and scenario["customer_name"] == "김가상"
        stored = " ".join(m["text"] for m in scenario["messages"])
        for original in (
            "김민지",
            "민지",
            "2024120512345",
            "010-1234-5678",
            "minji.kim@gmail.com",
            "테헤란로 123",
        ):
            assert original not in stored, original
        assert "김가상입니다" in stored and "가상 고객님" in stored and f"/articles/{article_id}" in stored
        async with session_scope() as session:  # only the anonymised copy is stored
            row = await session.get(TrainingScenario, scenario["id"])
            assert "김민지" not in str(row.messages) and "010-1234-5678" not in str(row.messages)

        # the trainee does not see the original agent's replies before practising
        seen = (await trainee.get(f"/training/scenarios/{scenario['id']}")).json()
        assert seen["messages"] is None
        # The playback runs on the domain clock, moved in this process (the live server's clock
        # is real time): the same service functions the routes call.
        trainee_id = await _agent_of(ws, agent_token)
        clock.set(T0)
        attempt_id = await _start(ws, scenario["id"], trainee_id, speed=2)
        play = await _play(ws, attempt_id, trainee_id)
        assert [i["role"] for i in play["items"]] == ["customer"] and play["next_due_ms"] == 10_000
        clock.shift(timedelta(seconds=10))  # ×2: the second message (20 s) is due after 10 s
        play = await _play(ws, attempt_id, trainee_id)
        # the third: 20 s + 120 s (the 130 s gap capped), ÷ 2 = 70 s, i.e. 60 s from now
        assert play["customer_shown"] == 2 and play["next_due_ms"] == 60_000
        clock.shift(timedelta(seconds=50))  # first reply at 60 s: faster than the original's 90 s
        reply = f"내일 도착합니다. http://x/help/{ws.slug}/articles/{article_id}"
        assert await _reply(ws, attempt_id, trainee_id, reply) == 60_000
        clock.shift(timedelta(seconds=30))
        play = await _play(ws, attempt_id, trainee_id)
        assert [i["role"] for i in play["items"]] == ["customer", "customer", "trainee", "customer"]
        assert play["next_due_ms"] is None
        clock.reset()
        # the route reads the same state
        got = (await trainee.get(f"/training/attempts/{attempt_id}")).json()
        assert [i["role"] for i in got["playback"]["items"]] == [
            "customer",
            "customer",
            "trainee",
            "customer",
        ]
        r = await trainee.post(f"/training/attempts/{attempt_id}/finish", json={"resolved": True})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["score"] == 100 and done["first_reply_ms"] == 60_000
        assert {p["key"]: p["points"] for p in done["parts"]} == {
            "first_reply": 40,
            "article": 30,
            "resolved": 30,
            "csat": None,
        }
        assert done["parts"][3]["original_csat"] == 4
        assert done["badges"] == ["first_practice", "fast_reply"]
        path = f"/training/attempts/{attempt_id}"
        assert_error(await trainee.post(path + "/replies", json={"content": "x"}), 409, "attempt_finished")
        assert_error(await trainee.post(path + "/finish", json={"resolved": True}), 409, "attempt_finished")
        # now the original is revealed to them
        assert (await trainee.get(f"/training/scenarios/{scenario['id']}")).json()["messages"]

        # review: the 매니저 comments and praises; the trainee sees it and gets the badge
        assert_error(await trainee.post(path + "/review", json={"comment": "x"}), 403)
        assert_error(await admin.post(path + "/review", json={}), 422, "empty_review")
        r = await admin.post(path + "/review", json={"comment": "공감 표현이 좋았어요", "praise": True})
        assert r.status_code == 200, r.text
        mine = (await trainee.get(path)).json()
        assert mine["review_comment"] == "공감 표현이 좋았어요" and mine["praised"] is True
        badges = (await trainee.get("/training/badges")).json()["badges"]
        assert badges == ["first_practice", "fast_reply", "praised"]
        # a second, slow, unresolved attempt: worse score; points count the best per scenario once
        clock.set(T0 + timedelta(hours=1))
        second = await _start(ws, scenario["id"], trainee_id, speed=1)
        clock.shift(timedelta(seconds=180))
        await _reply(ws, second, trainee_id, "확인해 보겠습니다")
        async with session_scope() as session:
            row, earned = await service.finish(
                session, workspace_id=ws.workspace_id, attempt_id=second, agent_id=trainee_id, resolved=False
            )
            await session.commit()
        # 40 × 90/180 = 20; article 0; resolved 0 → 20/100
        assert row.score == 20 and earned == []
        clock.reset()
        board_rows = (await admin.get("/training/leaderboard", params={"period": "all"})).json()["data"]
        assert len(board_rows) == 1 and board_rows[0]["points"] == 100 and board_rows[0]["attempts"] == 2
        assert board_rows[0]["resolved"] == 1 and board_rows[0]["average_score"] == 60.0
        assert board_rows[0]["badges"] == ["first_practice", "fast_reply", "praised"]
        finished_at = datetime.now(UTC)
        async with session_scope() as session:
            clock.set(finished_at + timedelta(days=20))
            assert await board.leaderboard(session, workspace_id=ws.workspace_id, period="week") == []
            assert len(await board.leaderboard(session, workspace_id=ws.workspace_id, period="month")) == 1
        clock.reset()
        # the attempts lists: the trainee's own; the 매니저's "to review"
        assert len((await trainee.get("/training/attempts")).json()["data"]) == 2
        to_review = (await admin.get("/training/attempts", params={"reviewed": "false"})).json()["data"]
        assert [a["id"] for a in to_review] == [second]
        # nothing reached the conversation: the same messages as before
        msgs = (await admin.get(f"/conversations/{conv_id}/messages", params={"limit": 100})).json()["data"]
        assert len(msgs) == 5


async def _agent_of(ws, token: str) -> int:
    from sodam.accounts.models import ApiToken
    from sodam.core.security import hash_token

    async with session_scope() as session:
        return await session.scalar(select(ApiToken.agent_id).where(ApiToken.token_hash == hash_token(token)))


async def _start(ws, scenario_id: int, agent_id: int, *, speed: int) -> int:
    async with session_scope() as session:
        attempt = await service.start_attempt(
            session, workspace_id=ws.workspace_id, scenario_id=scenario_id, agent_id=agent_id, speed=speed
        )
        await session.commit()
        return attempt.id


async def _play(ws, attempt_id: int, agent_id: int) -> dict:
    async with session_scope() as session:
        attempt = await service.get_attempt(
            session, workspace_id=ws.workspace_id, attempt_id=attempt_id, agent_id=agent_id, can_manage=False
        )
        scenario = await service.get_scenario(
            session, workspace_id=ws.workspace_id, scenario_id=attempt.scenario_id
        )
        return service.playback(scenario, attempt, await service.replies_of(session, attempt_id=attempt_id))


async def _reply(ws, attempt_id: int, agent_id: int, text: str) -> int:
    async with session_scope() as session:
        row = await service.add_reply(
            session, workspace_id=ws.workspace_id, attempt_id=attempt_id, agent_id=agent_id, content=text
        )
        await session.commit()
        return row.at_ms


async def test_five_resolved_practices_earn_the_badge(live_server, make_workspace):
    ws = await make_workspace()
    conv_id, _article = await known_conversation(ws, csat=None)
    async with client(live_server, ws.api_token) as api:
        scenario = (await api.post("/training/scenarios", json={"conversation_id": conv_id})).json()
        earned = []
        for _ in range(5):
            attempt = (
                await api.post(f"/training/scenarios/{scenario['id']}/attempts", json={"speed": 4})
            ).json()
            earned.append(
                (
                    await api.post(f"/training/attempts/{attempt['id']}/finish", json={"resolved": True})
                ).json()["badges"]
            )
        assert (
            earned[0] == ["first_practice"] and earned[1:4] == [[], [], []] and earned[4] == ["five_resolved"]
        )


async def test_isolation_and_bad_input(live_server, make_workspace):
    a, b = await make_workspace(), await make_workspace()
    b_conv, _ = await known_conversation(b)
    a_open, _ = await known_conversation(a, resolve=False)
    async with client(live_server, b.api_token) as bapi:
        b_scenario = (await bapi.post("/training/scenarios", json={"conversation_id": b_conv})).json()
        b_attempt = (await bapi.post(f"/training/scenarios/{b_scenario['id']}/attempts", json={})).json()
    async with client(live_server, a.api_token) as api:
        # another workspace's conversation, scenario and attempt: 404 as if they did not exist
        assert_error(
            await api.post("/training/scenarios", json={"conversation_id": b_conv}), 404, "not_found"
        )
        assert_error(await api.get(f"/training/scenarios/{b_scenario['id']}"), 404, "not_found")
        assert_error(await api.delete(f"/training/scenarios/{b_scenario['id']}"), 404, "not_found")
        assert_error(await api.post(f"/training/scenarios/{b_scenario['id']}/attempts", json={}), 404)
        for path, body in (
            ("", None),
            ("/replies", {"content": "침입"}),
            ("/finish", {"resolved": True}),
            ("/review", {"comment": "침입"}),
        ):
            method = api.get if body is None else api.post
            kwargs = {} if body is None else {"json": body}
            assert_error(
                await method(f"/training/attempts/{b_attempt['id']}{path}", **kwargs), 404, "not_found"
            )
        assert (await api.get("/training/scenarios")).json()["data"] == []
        assert (await api.get("/training/attempts")).json()["data"] == []
        # bad input
        assert_error(
            await api.post("/training/scenarios", json={"conversation_id": a_open}), 422, "not_resolved"
        )
        assert_error(
            await api.post("/training/scenarios", json={"conversation_id": 0}), 422, "validation_error"
        )
        assert_error(await api.post("/training/scenarios", json={"conversation_id": a_open, "x": 1}), 422)
        assert_error(await api.get("/training/leaderboard", params={"period": "year"}), 422)
        async with session_scope() as session:
            await session.execute(
                update(Message).where(Message.conversation_id == a_open).values(content="x")
            )
            await conversations.set_status(
                session,
                workspace_id=a.workspace_id,
                conversation_id=a_open,
                status=Status.resolved,
                actor_id=a.agent_id,
            )
            await session.commit()
        scenario = (await api.post("/training/scenarios", json={"conversation_id": a_open})).json()
        assert_error(await api.post(f"/training/scenarios/{scenario['id']}/attempts", json={"speed": 3}), 422)
        attempt = (await api.post(f"/training/scenarios/{scenario['id']}/attempts", json={})).json()
        path = f"/training/attempts/{attempt['id']}"
        assert_error(await api.post(path + "/replies", json={"content": ""}), 422)
        assert_error(await api.post(path + "/replies", json={"content": "   "}), 422, "empty_reply")
        assert_error(await api.post(path + "/replies", json={"content": "가" * 5001}), 422)
        assert_error(
            await api.post(path + "/review", json={"comment": "이르다"}), 409, "attempt_not_finished"
        )
        assert_error(await api.post(path + "/finish", json={}), 422)
        # another agent of the same workspace does not see this attempt
        other = await new_token(a, ["read", "write"], role=Role.agent)
        async with client(live_server, other) as agent_api:
            assert_error(await agent_api.get(path), 404, "not_found")
            assert_error(await agent_api.post(path + "/replies", json={"content": "남의 연습"}), 404)
