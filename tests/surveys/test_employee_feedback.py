"""Anonymous employee feedback: an answer cannot be tied to the agent who gave it. The test
answers through the API and then reads every column of every row written or changed in any
table of the database by that answer; results show only as aggregates, from 3 answers on."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.db.session import session_scope
from tests.test_api_helpers import assert_error, client
from tests.test_console_helpers import add_agent, console_client, post

QUESTIONS = [
    {
        "id": "q1",
        "type": "likert",
        "text": {"ko": "팀에서 존중받는다고 느낀다", "en": "I feel respected in my team"},
    },
    {"id": "q2", "type": "scale", "text": {"ko": "업무량은 적당하다", "en": "My workload is reasonable"}},
    {
        "id": "comment",
        "type": "text",
        "required": False,
        "text": {"ko": "하고 싶은 말", "en": "Anything else"},
    },
]


async def snapshot() -> dict[str, set[str]]:
    """Every row of every table in the schema, as JSON text."""
    async with session_scope() as s:
        tables = (
            await s.scalars(
                text(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                )
            )
        ).all()
        out = {}
        for table in tables:
            rows = await s.scalars(text(f'SELECT row_to_json(t)::text FROM "{table}" t'))  # noqa: S608 - catalog names
            out[table] = set(rows)
        return out


async def column_types(table: str) -> dict[str, str]:
    async with session_scope() as s:
        rows = await s.execute(
            text(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = :t"
            ),
            {"t": table},
        )
        return dict(rows.all())


async def agent_token(ws, agent_id: int) -> str:
    async with session_scope() as s:
        _t, raw = await accounts.create_api_token(
            s, workspace_id=ws.workspace_id, agent_id=agent_id, name="fb"
        )
        return raw


async def test_answers_cannot_be_linked_to_an_agent(live_server, make_workspace):
    ws = await make_workspace()
    agent_id, agent_email, _ = await add_agent(ws, role=Role.agent)
    token = await agent_token(ws, agent_id)
    async with client(live_server, ws.api_token) as admin:
        r = await admin.post(
            "/feedback/surveys", json={"name": "분기 직원 설문", "kind": "custom", "questions": QUESTIONS}
        )
        assert r.status_code == 201, r.text
        survey_id = r.json()["id"]
    secret = f"야근이 너무 많아요 {uuid.uuid4().hex[:8]}"
    before = await snapshot()
    async with client(live_server, token) as api:
        r = await api.post(
            f"/feedback/surveys/{survey_id}/answer", json={"answers": {"q1": 2, "q2": 3, "comment": secret}}
        )
        assert r.status_code == 204, r.text
        assert_error(
            await api.post(f"/feedback/surveys/{survey_id}/answer", json={"answers": {"q1": 5, "q2": 9}}),
            409,
            "already_answered",
        )
    after = await snapshot()

    changed = {t: after[t] - before.get(t, set()) for t in after if after[t] - before.get(t, set())}
    # The answer's text is stored in exactly one place, and that place names nobody.
    holding = [t for t, rows in changed.items() if any(secret in r for r in rows)]
    assert holding == ["staff_answers"], holding
    for table, rows in changed.items():
        for row in rows:
            if table in ("staff_answers", "staff_answered"):
                continue
            assert secret not in row and '"q1"' not in row, (
                table,
                row,
            )  # no copy of the answer anywhere else
    (answer_row,) = changed["staff_answers"]
    types = await column_types("staff_answers")
    assert set(types) == {"id", "workspace_id", "survey_id", "answered_on", "answers"}
    assert types["id"] == "uuid" and types["answered_on"] == "date"
    assert not any("timestamp" in t or t == "time" for t in types.values())
    import json

    stored = json.loads(answer_row)
    assert uuid.UUID(stored["id"]).version == 4  # random, so no order of answers can be read from it
    for column, value in stored.items():
        if column in ("workspace_id", "survey_id"):
            continue
        assert str(agent_id) != str(value) and agent_email not in json.dumps(value, ensure_ascii=False), (
            column
        )
    (marked,) = changed["staff_answered"]
    assert set(json.loads(marked)) == {"workspace_id", "survey_id", "agent_id"}  # no time, no answer id
    assert set(await column_types("staff_answered")) == {"workspace_id", "survey_id", "agent_id"}
    async with session_scope() as s:
        refs = (
            await s.scalars(
                text(
                    "SELECT ccu.table_name FROM information_schema.table_constraints tc"
                    " JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name"
                    " WHERE tc.table_name = 'staff_answered' AND tc.constraint_type = 'FOREIGN KEY'"
                )
            )
        ).all()
        assert "staff_answers" not in refs
        refs = (
            await s.scalars(
                text(
                    "SELECT ccu.table_name FROM information_schema.table_constraints tc"
                    " JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name"
                    " WHERE tc.table_name = 'staff_answers' AND tc.constraint_type = 'FOREIGN KEY'"
                )
            )
        ).all()
        assert set(refs) <= {"workspaces", "surveys"}
    # Nothing in the audit log either.
    assert not any("staff" in r or "feedback" in r for r in changed.get("audit_log", set()))


async def test_results_are_aggregates_from_three_answers(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as admin:
        survey_id = (
            await admin.post(
                "/feedback/surveys", json={"name": "설문", "kind": "custom", "questions": QUESTIONS}
            )
        ).json()["id"]
        tokens = []
        for role in (Role.agent, Role.supervisor):
            agent_id, _e, _p = await add_agent(ws, role=role)
            tokens.append(await agent_token(ws, agent_id))
        for tok, (q1, q2) in zip(tokens, ((5, 8), (4, 6)), strict=True):
            async with client(live_server, tok) as api:
                assert (
                    await api.post(
                        f"/feedback/surveys/{survey_id}/answer", json={"answers": {"q1": q1, "q2": q2}}
                    )
                ).status_code == 204
        two = (await admin.get(f"/feedback/surveys/{survey_id}/results")).json()
        assert two == {"survey_id": survey_id, "answers": 2, "min_group": 3, "shown": False, "questions": []}
        open_list = (await admin.get("/feedback/open")).json()["data"]
        assert [(s["id"], s["answered"]) for s in open_list] == [(survey_id, False)]
        assert (
            await admin.post(
                f"/feedback/surveys/{survey_id}/answer",
                json={"answers": {"q1": 1, "q2": 2, "comment": "좋아요"}},
            )
        ).status_code == 204
        three = (await admin.get(f"/feedback/surveys/{survey_id}/results")).json()
        assert three["shown"] is True and three["answers"] == 3
        q = {x["id"]: x for x in three["questions"]}
        assert q["q1"]["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1}
        assert q["q2"]["mean"] == 5.33 and q["comment"]["texts"] == ["좋아요"]
        # Customers' survey routes do not show internal ones.
        assert_error(await admin.get(f"/surveys/{survey_id}"), 404, "not_found")
    # An agent answers in the console; the results page is the admin's only.
    agent_id, email, password = await add_agent(ws, role=Role.agent, locale="en")
    console = await console_client(live_server, email, password)
    try:
        page = await console.get("/console/feedback")
        assert page.status_code == 200 and "Send anonymously" in page.text
        r = await post(console, f"/console/feedback/{survey_id}", {"q_q1": "3", "q_q2": "4"})
        assert r.status_code == 303
        assert "You have answered" in (await console.get("/console/feedback")).text
        assert (await console.get(f"/console/feedback/{survey_id}/results")).status_code == 403
    finally:
        await console.aclose()
