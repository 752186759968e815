"""The figures that are not rollup sums, on hand-worked fixtures: first response / resolution
percentiles, topics of negative conversations (Korean morphemes), the help center, the weekly
digest (and its e-mail through the workspace's relay, once per week), churn risk (AUC by hand,
the model on a planted signal, the API and console), the segment filter over HTTP; isolation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg
import pytest

from sodam.analytics import churnrisk, digest, insights, rollup, service
from sodam.analytics.queries import Filters
from sodam.db.session import session_scope
from sodam.segments import service as segments
from tests.analytics import fixture
from tests.analytics.fixture import Builder, at
from tests.test_api_helpers import assert_error, client

DAY = date(2026, 3, 10)
PERIOD = {"from": "2026-03-10", "to": "2026-03-10"}


@pytest.fixture
async def history(db, make_workspace):
    ws = await make_workspace()
    ids = fixture.build(db, ws)
    await rollup.refresh(db)
    return ws, ids


async def build(url: str, name: str, f: Filters) -> dict:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await service.build(conn, name, f)


async def test_percentiles(db, history):
    ws, _ = history
    data = await build(db, "conversations", Filters(ws.workspace_id, DAY, DAY))
    rows = {r[0]: r[1:] for r in data["tables"]["percentiles"]["rows"]}
    # First responses 240, 300, 600, 1500 s: p50 = (300 + 600) / 2; p90 at rank 2.7 = 600 + 0.7 × 900.
    assert rows["first_response_s"] == [4, 450.0, 1230.0]
    # Resolutions 1200, 1800, 1800 s.
    assert rows["resolution_s"] == [3, 1800.0, 1800.0]
    empty = await build(db, "conversations", Filters(ws.workspace_id, date(2026, 1, 1), date(2026, 1, 1)))
    assert {r[0]: r[1:] for r in empty["tables"]["percentiles"]["rows"]}["resolution_s"] == [0, None, None]


def test_top_terms_counts_each_message_once():
    texts = [
        "배송이 너무 늦어요. 배송 언제 오나요?",
        "환불해 주세요, 배송 안 와요",
        "The refund never arrived",
    ]
    terms = dict(insights.top_terms(texts))
    assert terms["배송"] == 2  # twice in the first message, counted once per message
    assert terms["환불"] == 1 and terms["refund"] == 1
    assert "the" not in terms and insights.top_terms(["", "  "]) == []


async def test_sentiment_report_and_helpcenter(db, make_workspace):
    ws = await make_workspace()
    with psycopg.connect(db) as conn:
        b = Builder(conn, ws)
        inbox, y = b.inbox("I1"), b.contact("Y")
        for key, text, label in (
            ("N1", "배송이 너무 늦어요", "negative"),
            ("N2", "환불 해주세요 배송 안 와요", "negative"),
            ("P1", "배송 빨라서 좋아요", "positive"),
        ):
            cid = b.conversation(key, inbox=inbox, contact=y, created=at("10:00"))
            conn.execute(
                "INSERT INTO messages (workspace_id, conversation_id, inbox_id, seq, direction, kind, sender_type,"
                " content, sentiment_label, created_at) VALUES (%s, %s, %s, 1, 'incoming', 'text', 'contact', %s, %s, %s)",
                (ws.workspace_id, cid, inbox, text, label, at("10:00")),
            )
        article = conn.execute(
            "INSERT INTO kb_articles (workspace_id, locale, title, body, status, view_count) VALUES"
            " (%s, 'ko', '배송 안내', '', 'published', 42) RETURNING id",
            (ws.workspace_id,),
        ).fetchone()[0]
        for q, n, found in (("배송 기간", 3, 2), ("쿠폰 환불", 2, 0), ("교환", 1, 1)):
            for _ in range(n):
                conn.execute(
                    "INSERT INTO kb_searches (workspace_id, query, normalized, locale, source, result_count,"
                    " created_at) VALUES (%s, %s, %s, 'ko', 'helpcenter', %s, %s)",
                    (ws.workspace_id, q, q, found, at("11:00")),
                )
        conn.commit()
    await rollup.refresh(db)
    f = Filters(ws.workspace_id, DAY, DAY)
    data = await build(db, "sentiment", f)
    assert {k["key"]: k["value"] for k in data["kpis"]}["negative_pct"] == 66.7
    topics = dict(data["tables"]["negative_topics"]["rows"])
    assert topics["배송"] == 2 and topics["환불"] == 1  # the positive message is not read
    hc = await build(db, "helpcenter", f)
    assert hc["counts"] == {"searches": 6, "no_result": 2}
    assert hc["tables"]["most_searched"]["rows"][0] == ["배송 기간", 3, 0, 0]
    assert [r[:2] for r in hc["tables"]["no_result"]["rows"]] == [["쿠폰 환불", 2]]
    assert hc["tables"]["most_read"]["rows"] == [[article, "배송 안내", "ko", 42]]


async def test_weekly_digest_and_its_mail(db, history, monkeypatch):
    from tests.mail.support import Sink, email_inbox

    ws, ids = history
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE conversations SET tags = '{feature_request}' WHERE id = %s", (ids["C3"],))
        conn.execute(
            "INSERT INTO kb_searches (workspace_id, query, normalized, locale, source, result_count, created_at)"
            " VALUES (%s, '환불', '환불', 'ko', 'bot', 1, %s)",
            (ws.workspace_id, at("09:00")),
        )
    monkeypatch.setattr(digest, "MIN_ANSWERS", 2)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        data = await digest.build(conn, workspace_id=ws.workspace_id, week=digest.week_start(DAY))
    assert data["week"] == "2026-03-09" and data["previous_period"]["from"] == "2026-03-02"
    changes = {c["kpi"]: c for c in data["changes"]}
    assert changes["conversations"]["value"] == 8 and changes["conversations"]["previous"] == 0
    assert changes["conversations"]["change_pct"] is None
    assert (
        data["feature_requests"]["count"] == 1
        and data["feature_requests"]["items"][0]["conversation_id"] == ids["C3"]
    )
    assert data["most_asked"]["searches"] == [{"query": "환불", "count": 1}]
    assert {i["intent"] for i in data["most_asked"]["intents"]} == {"shipping", "refund", "hours"}
    worst = data["worst_touchpoints"]
    assert worst[0]["kind"] == "inbox" and worst[0]["key"] == ids["I1"] and worst[0]["csat_pct"] == 50.0

    # The e-mail: subscribed 매니저s get it through the workspace's relay, once per week.
    sink = Sink()
    try:
        await email_inbox(ws, relay_port=sink.port)
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO report_digest_subscribers (workspace_id, agent_id) VALUES (%s, %s)",
                (ws.workspace_id, ws.agent_id),
            )
        async with await psycopg.AsyncConnection.connect(db) as conn:
            first = await digest.send_week(conn, workspace_id=ws.workspace_id, week=date(2026, 3, 9))
            again = await digest.send_week(conn, workspace_id=ws.workspace_id, week=date(2026, 3, 9))
        assert first["sent"] == 1 and again == {"sent": 0, "already": True}
        (rcpt, mail), *_ = await sink.wait_for(1)
        assert rcpt == [ws.agent_email]
        assert "주간 인사이트" in mail["Subject"]
        body = mail.get_body(preferencelist=("plain",)).get_content()
        assert "기능 요청" in body and "대화 수" in body
    finally:
        sink.stop()


def test_auc_by_hand():
    y = np.array([0, 0, 1, 1])
    assert churnrisk.auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75  # 3 of 4 pairs ordered
    assert churnrisk.auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5  # ties count half
    assert churnrisk.auc(np.array([1, 1]), np.array([0.2, 0.3])) is None


async def _planted(url: str, ws, now: datetime) -> None:
    """Customers who stay come every 10 days with good CSAT; those who leave had negative,
    unanswered conversations and stop: the model must rank them."""
    rng = np.random.default_rng(1)
    with psycopg.connect(url) as conn:
        b = Builder(conn, ws)
        inbox = b.inbox("P")
        survey = b.survey("csat")
        for n in range(60):
            contact = b.contact(f"K{n}")
            leaves_at = now - timedelta(days=int(rng.integers(70, 150))) if n % 2 else None
            t = now - timedelta(days=200 - int(rng.integers(0, 10)))
            while t < now - timedelta(hours=1) and (leaves_at is None or t < leaves_at):
                cid = b.conversation(f"c{n}-{t.isoformat()}", inbox=inbox, contact=contact, created=t)
                b.message(cid, "contact", contact, t, sentiment="negative" if leaves_at else "neutral")
                if leaves_at is None:
                    b.message(cid, "agent", ws.agent_id, t + timedelta(minutes=5))
                    b.answer(survey, "csat", 5, t + timedelta(hours=1), contact=contact, conv=cid)
                t += timedelta(days=10 if leaves_at is None else 12)
        conn.commit()


async def test_churn_risk_model_api_console_and_isolation(db, live_server, make_workspace):
    from tests.test_console_helpers import console_client

    ws, other = await make_workspace(), await make_workspace()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await _planted(db, ws, now)
    await rollup.refresh(db)
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        ev = await churnrisk.evaluate(conn, workspace_id=ws.workspace_id, now=now)
        assert ev.n_test > 10 and 0 < ev.churned_test < ev.n_test
        assert ev.auc is not None and ev.auc > 0.9  # the planted signal is found on the later period
        result = await churnrisk.retrain(conn, workspace_id=ws.workspace_id, now=now)
        assert result["trained"] and result["scored"] > 0
        nothing = await churnrisk.retrain(conn, workspace_id=other.workspace_id, now=now)
        assert nothing["trained"] is False
    async with session_scope() as s:
        seg = await segments.create(
            s, workspace_id=ws.workspace_id, name="K1", filter={"all": [{"field": "company", "op": "set"}]}
        )
        seg_other = await segments.create(s, workspace_id=other.workspace_id, name="O", filter={"all": []})
    async with client(live_server, ws.api_token) as api:
        r = await api.get("/reports/churn-risk", params={"limit": 5})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"]["auc"] > 0.9 and len(body["customers"]) == 5
        risks = [c["risk"] for c in body["customers"]]
        assert risks == sorted(risks, reverse=True)
        assert "days_since_last" in body["customers"][0]["features"]
        r = await api.get("/reports/churn-risk", params={"segment_id": seg.id})
        assert r.status_code == 200 and r.json()["customers"] == []  # nobody has a company
        assert_error(
            await api.get("/reports/churn-risk", params={"segment_id": seg_other.id}), 404, "not_found"
        )
        assert_error(
            await api.get("/reports/overview", params={**PERIOD, "segment_id": seg_other.id}),
            404,
            "not_found",
        )
        assert_error(
            await api.get("/reports/overview", params={**PERIOD, "segment_id": "x"}), 422, "invalid_filter"
        )
        r = await api.get("/reports/overview", params={**PERIOD, "segment_id": seg.id})
        assert r.status_code == 200 and r.json()["filters"]["segment_id"] == seg.id
        assert r.json()["kpis"][0]["value"] == 0
        r = await api.get("/reports/digest", params={"week": "2026-03-11"})
        assert r.status_code == 200 and r.json()["week"] == "2026-03-09"
        assert_error(await api.get("/reports/digest", params={"week": "soon"}), 422, "invalid_date")
        # An empty tz is Korea's, as in every report; an unknown one is refused, never a 500.
        r = await api.get("/reports/digest", params={"week": "2026-03-11", "tz": ""})
        assert r.status_code == 200 and r.json()["week"] == "2026-03-09"
        assert_error(await api.get("/reports/digest", params={"tz": "Mars/Base"}), 422, "invalid_tz")
    async with client(live_server, other.api_token) as api:
        body = (await api.get("/reports/churn-risk")).json()
        assert body == {"model": None, "customers": []}  # another workspace's scores are never shown
    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await console.get("/console/reports/churn-risk")
        assert page.status_code == 200 and 'id="block-at-risk"' in page.text and "K" in page.text
        page = await console.get("/console/reports/digest?week=2026-03-10")
        assert page.status_code == 200 and 'id="digest-subscribe"' in page.text
    finally:
        await console.aclose()


async def test_the_nightly_and_weekly_jobs(db, history, monkeypatch):
    from sodam.analytics import tasks

    ws, _ = history
    monkeypatch.setattr(tasks, "current_url", lambda: db)
    stamp = int(datetime(2026, 3, 16, 0, 30, tzinfo=UTC).timestamp())  # a Monday, 09:30 in Korea
    out = await tasks.churn_retrain.func(stamp)
    assert out[str(ws.workspace_id)]["trained"] is False  # too little history: no model, no error
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO report_digest_subscribers (workspace_id, agent_id) VALUES (%s, %s)",
            (ws.workspace_id, ws.agent_id),
        )
    out = await tasks.weekly_digest.func(stamp)
    # No e-mail inbox with a relay: nothing sent, the week (03-09) marked once.
    assert out[str(ws.workspace_id)] == {"sent": 0, "already": False, "relay": False}
    again = await tasks.weekly_digest.func(stamp)
    assert again[str(ws.workspace_id)] == {"sent": 0, "already": True}
    with psycopg.connect(db) as conn:
        weeks = conn.execute(
            "SELECT week FROM report_digest_sends WHERE workspace_id = %s", (ws.workspace_id,)
        ).fetchall()
    assert weeks == [(date(2026, 3, 9),)]
