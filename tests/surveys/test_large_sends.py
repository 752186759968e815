"""A survey to a segment larger than one request's 1,000: 202 with a send, a job invites every
contact once in batches (a batch rolled back by a crash is simply done again; a re-run asks
nobody twice), the progress and the links by API, the scheduled ones opened in one statement."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from sodam.db.session import session_scope
from sodam.surveys import sends
from sodam.surveys import service as surveys
from sodam.surveys.models import Survey, SurveySend
from tests.test_api_helpers import assert_error, client, walk

N = 1234


async def _contacts(workspace_id: int, n: int, language: str) -> None:
    async with session_scope() as s:
        await s.execute(
            text(
                "INSERT INTO contacts (workspace_id, name, language, custom_attributes)"
                " SELECT :ws, '고객 ' || g, :lang, '{}' FROM generate_series(1, :n) g"
            ),
            {"ws": workspace_id, "n": n, "lang": language},
        )
        await s.commit()


async def _invited(send_id: int) -> tuple[int, int]:
    async with session_scope() as s:
        row = (
            await s.execute(
                text("SELECT count(*), count(DISTINCT contact_id) FROM survey_recipients WHERE send_id = :i"),
                {"i": send_id},
            )
        ).one()
        return int(row[0]), int(row[1])


async def test_a_large_segment_is_sent_by_a_job_each_contact_once(live_server, make_workspace):
    ws = await make_workspace()
    await _contacts(ws.workspace_id, N - 34, "ko")
    await _contacts(ws.workspace_id, 34, "en")
    async with client(live_server, ws.api_token) as api:
        seg = (await api.post("/segments", json={"name": "전체", "filter": {"all": []}})).json()
        survey = (await api.post("/surveys", json={"name": "분기 NPS", "kind": "nps"})).json()
        r = await api.post(f"/surveys/{survey['id']}/send", json={"segment_id": seg["id"]})
        assert r.status_code == 202, r.text
        send = r.json()["send"]
        assert send["total"] == N and send["status"] in ("queued", "sending", "done")
        assert r.headers["location"] == f"/api/v1/surveys/{survey['id']}/sends/{send['id']}"
        # Any test server's worker carries the job out.
        for _ in range(300):
            progress = (await api.get(f"/surveys/{survey['id']}/sends/{send['id']}")).json()
            if progress["status"] == "done":
                break
            await asyncio.sleep(0.1)
        assert progress["status"] == "done" and progress["invited"] == N and progress["finished_at"]
        assert await _invited(send["id"]) == (N, N)
        assert [x["id"] for x in (await api.get(f"/surveys/{survey['id']}/sends")).json()["data"]] == [
            send["id"]
        ]
        links = await walk(api, f"/surveys/{survey['id']}/recipients", 100, send_id=send["id"])
        assert len(links) == N and len({x["url"] for x in links}) == N
        assert sum(x["language"] == "en" for x in links) == 34
        assert all(x["sent_at"] and len(x["url"]) == len("/s/") + 64 for x in links)
        assert (await api.get(f"/surveys/{survey['id']}/summary")).json()["sent"] == N
        assert_error(await api.get(f"/surveys/{survey['id']}/sends/{2**40}"), 404, "not_found")
    async with httpx.AsyncClient(base_url=live_server.url) as browser:
        page = await browser.get(links[-1]["url"])
        assert page.status_code == 200


async def test_a_crashed_batch_is_done_again_and_a_rerun_asks_nobody_twice(live_server, make_workspace):
    ws = await make_workspace()
    await _contacts(ws.workspace_id, 2500, "ko")
    async with client(live_server, ws.api_token) as api:
        seg = (await api.post("/segments", json={"name": "전체", "filter": {"all": []}})).json()
        survey_id = (await api.post("/surveys", json={"name": "CSAT", "kind": "csat"})).json()["id"]
    later = datetime.now(UTC) + timedelta(days=1)
    async with session_scope() as s:
        survey = await s.get(Survey, survey_id)
        # Recorded without its job (a job is queued too; test servers' workers may take it).
        send = SurveySend(
            workspace_id=ws.workspace_id,
            survey_id=survey_id,
            segment_id=seg["id"],
            send_at=later,
            status="sending",
        )
        s.add(send)
        await s.flush()
        send_id = send.id
        await s.commit()
    # A worker dies in the middle of a batch: its transaction never commits.
    async with session_scope() as s:
        send = await s.get(SurveySend, send_id)
        survey = await s.get(Survey, survey_id)
        assert await sends.invite_batch(s, send=send, survey=survey, limit=1000) == 1000
        await s.rollback()
    assert await _invited(send_id) == (0, 0)
    assert await sends.run(send_id, batch=1000) == 2500
    assert await _invited(send_id) == (2500, 2500)
    # Run again from the start (a job delivered twice): nobody is asked a second time.
    async with session_scope() as s:
        await s.execute(
            text(
                "UPDATE survey_sends SET status = 'sending', last_contact_id = 0, invited = 0 WHERE id = :i"
            ),
            {"i": send_id},
        )
        await s.commit()
    await sends.run(send_id, batch=1000)
    assert await _invited(send_id) == (2500, 2500)
    # Scheduled for tomorrow: nothing is open yet; when the time comes one statement opens all.
    async with session_scope() as s:
        assert (
            await s.scalar(
                text("SELECT count(*) FROM survey_recipients WHERE send_id = :i AND sent_at IS NULL"),
                {"i": send_id},
            )
        ) == 2500
        await s.execute(
            text("UPDATE survey_recipients SET send_at = now() - interval '1 second' WHERE send_id = :i"),
            {"i": send_id},
        )
        await surveys.send_due(s)
        await s.commit()
        assert (
            await s.scalar(
                text("SELECT count(*) FROM survey_recipients WHERE send_id = :i AND sent_at IS NULL"),
                {"i": send_id},
            )
        ) == 0


async def test_sends_are_scoped_to_their_workspace(live_server, make_workspace):
    a, b = await make_workspace(), await make_workspace()
    await _contacts(a.workspace_id, 1001, "ko")
    async with client(live_server, a.api_token) as api:
        seg = (await api.post("/segments", json={"name": "전체", "filter": {"all": []}})).json()
        survey = (await api.post("/surveys", json={"name": "NPS", "kind": "nps"})).json()
        send = (await api.post(f"/surveys/{survey['id']}/send", json={"segment_id": seg["id"]})).json()[
            "send"
        ]
    async with client(live_server, b.api_token) as api:
        assert_error(await api.get(f"/surveys/{survey['id']}/sends/{send['id']}"), 404)
        assert_error(await api.get(f"/surveys/{survey['id']}/recipients"), 404)
        assert_error(await api.get(f"/surveys/{survey['id']}/sends"), 404)
        own = (await api.post("/surveys", json={"name": "NPS", "kind": "nps"})).json()
        # Another workspace's segment cannot be sent to.
        assert_error(await api.post(f"/surveys/{own['id']}/send", json={"segment_id": seg["id"]}), 404)
