"""Workspace isolation on every survey endpoint: another workspace's survey, answer link or
internal survey is answered exactly like one that does not exist; the widget's survey card
keeps the widget's size budget and never writes HTML."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx

from tests.test_api_helpers import assert_error, client

STATIC = Path(__file__).resolve().parents[2] / "src" / "sodam" / "web" / "static"


async def test_another_workspaces_surveys_are_not_found(live_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    async with client(live_server, b.api_token) as api_b:
        survey = (await api_b.post("/surveys", json={"name": "B", "kind": "csat"})).json()
        staff = (
            await api_b.post(
                "/feedback/surveys",
                json={
                    "name": "B 직원",
                    "kind": "custom",
                    "questions": [{"id": "q1", "type": "likert", "text": "x"}],
                },
            )
        ).json()
        contact = (await api_b.post("/contacts", json={"name": "B 고객"})).json()
        before = (await api_b.get(f"/surveys/{survey['id']}")).json()
    async with client(live_server, a.api_token) as api:
        sid, fid = survey["id"], staff["id"]
        for method, path, body in [
            ("GET", f"/surveys/{sid}", None),
            ("PATCH", f"/surveys/{sid}", {"name": "침입"}),
            ("DELETE", f"/surveys/{sid}", None),
            ("GET", f"/surveys/{sid}/summary", None),
            ("GET", f"/surveys/{sid}/answers", None),
            ("POST", f"/surveys/{sid}/send", {"contact_ids": [contact["id"]]}),
            ("GET", f"/feedback/surveys/{fid}/results", None),
            ("POST", f"/feedback/surveys/{fid}/answer", {"answers": {"q1": 1}}),
            ("GET", f"/contacts/{contact['id']}/summary", None),
            ("GET", f"/contacts/{contact['id']}/timeline", None),
        ]:
            assert_error(await api.request(method, path, json=body), 404, "not_found")
        # A's own survey cannot be sent to B's contact, nor sent on resolution in B's inbox.
        own = (await api.post("/surveys", json={"name": "A", "kind": "nps"})).json()
        r = await api.post(f"/surveys/{own['id']}/send", json={"contact_ids": [contact["id"]]})
        assert_error(r, 404, "not_found")
        r = await api.patch(f"/surveys/{own['id']}", json={"on_resolve_inbox_ids": [b.inbox_id]})
        assert_error(r, 404, "not_found")
        assert [s["id"] for s in (await api.get("/surveys")).json()["data"]] == [own["id"]]
        assert (await api.get("/feedback/open")).json()["data"] == []
    async with client(live_server, b.api_token) as api_b:
        assert (await api_b.get(f"/surveys/{survey['id']}")).json() == before
        assert (await api_b.get(f"/surveys/{survey['id']}/summary")).json()["sent"] == 0
    # A's console does not show B's surveys either.
    from tests.test_console_helpers import console_client

    console = await console_client(live_server, a.agent_email, a.agent_password)
    try:
        assert (await console.get(f"/console/surveys/{survey['id']}")).status_code == 404
        assert (await console.get(f"/console/feedback/{staff['id']}/results")).status_code == 404
    finally:
        await console.aclose()
    async with httpx.AsyncClient(base_url=live_server.url) as browser:
        # A token of B's inbox's visitor cannot read through A's inbox.
        visitor = (await browser.post(f"/widget/v1/{a.inbox_token}/session", json={"locale": "ko"})).json()
        r = await browser.get(
            f"/widget/v1/{b.inbox_token}/surveys/whatever",
            headers={"X-Sodam-Visitor": visitor["visitor_token"]},
        )
        assert r.status_code == 401


def test_the_survey_card_is_lazy_and_small():
    widget = (STATIC / "widget.js").read_text(encoding="utf-8")
    card = (STATIC / "widget-survey.js").read_text(encoding="utf-8")
    assert "widget-survey.js" in widget and "function fill" not in widget
    assert len(gzip.compress(widget.encode(), 9)) < 17_000  # the budget of tests/test_widget_api.py
    assert len(card.encode()) < 12_000
    for source in (card,):
        assert (
            "innerHTML" not in source
            and "insertAdjacentHTML" not in source
            and "document.write" not in source
        )
        assert not re.findall(r"https?://[^\s'\"`)]+", source)  # no third-party requests
