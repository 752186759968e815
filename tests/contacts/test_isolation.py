"""Workspace isolation on every endpoint of typed attributes, companies, merges, imports and
exports: another workspace's ids are answered like ids that do not exist (404), lists hold
only the caller's rows, and a merge never reaches across workspaces."""

from __future__ import annotations

import asyncio
import re
import time

from sodam.contacts import attributes, imports, merge
from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from tests.test_api_helpers import assert_error, client

PREFIXES = (
    "/api/v1/contact-attributes",
    "/api/v1/companies",
    "/api/v1/contact-merges",
    "/api/v1/contact-imports",
)
BODIES = {
    ("patch", "/api/v1/contact-attributes/{definition_id}"): {"label": "침입"},
    ("patch", "/api/v1/companies/{company_id}"): {"name": "침입"},
}


async def seed_b(ws) -> dict:
    async with session_scope() as s:
        definition = await attributes.create(
            s, workspace_id=ws.workspace_id, key="secret_tier", label="B", type="text"
        )
        kept = await contacts.create(
            s, workspace_id=ws.workspace_id, name="B 고객", email="b@b.example", company="B회사"
        )
        gone = await contacts.create(s, workspace_id=ws.workspace_id, name="B 중복", phone="010-9999-0000")
        record = await merge.merge(s, workspace_id=ws.workspace_id, winner_id=kept.id, loser_id=gone.id)
        job = await imports.start(
            s, workspace_id=ws.workspace_id, filename="b.csv", data=b"name\nB\n", agent_id=None
        )
        await s.commit()
    return {
        "definition_id": definition.id,
        "company_id": kept.company_id,
        "merge_id": record.id,
        "import_id": job.id,
        "contact_id": kept.id,
    }


async def test_new_endpoints_404_for_another_workspaces_ids(live_server, make_workspace):
    a, b = await make_workspace(), await make_workspace()
    b_ids = await seed_b(b)
    probed = 0
    async with client(live_server, a.api_token) as api:
        spec = (await api.get(live_server.url + "/openapi.json")).json()
        for path, operations in spec["paths"].items():
            params = re.findall(r"{(\w+)}", path)
            if not path.startswith(PREFIXES) or not params:
                continue
            url = path.removeprefix("/api/v1")
            for name in params:
                url = url.replace("{" + name + "}", str(b_ids[name]))
            for method in operations:
                body = BODIES.get((method, path))
                if method in ("patch", "put"):
                    assert body is not None, f"add a body for {method.upper()} {path}"
                assert_error(await api.request(method.upper(), url, json=body), 404, "not_found")
                probed += 1
        assert probed >= 10
        # Lists and the export hold only A's rows.
        assert (await api.get("/contact-attributes")).json() == []
        assert (await api.get("/companies")).json()["data"] == []
        assert "B 고객" not in (await api.get("/contact-exports")).content.decode("utf-8-sig")
        # A merge naming B's contact as the one merged in: 404, nothing moved.
        mine = (await api.post("/contacts", json={"name": "A 고객"})).json()
        r = await api.post(f"/contacts/{mine['id']}/merge", json={"other_id": b_ids["contact_id"]})
        assert_error(r, 404, "not_found")
        # A company of B by id cannot be given to A's contact.
        assert_error(
            await api.patch(f"/contacts/{mine['id']}", json={"company_id": b_ids["company_id"]}), 404
        )
        # A's import does not touch B's contact with the same e-mail: it makes A's own.
        up = await api.post(
            "/contact-imports",
            files={"file": ("a.csv", "name,email\n침입자,b@b.example\n".encode(), "text/csv")},
        )
        job = up.json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            job = (await api.get(f"/contact-imports/{job['id']}")).json()
        assert job["status"] == "done" and job["created_count"] == 1
    async with client(live_server, b.api_token) as api:
        kept = (await api.get(f"/contacts/{b_ids['contact_id']}")).json()
        assert kept["name"] == "B 고객" and kept["phone"] == "010-9999-0000"
        assert (await api.get(f"/companies/{b_ids['company_id']}")).json()["contact_count"] == 1
        assert (await api.get(f"/contact-merges/{b_ids['merge_id']}")).json()["undone_at"] is None
