"""The console screens: attribute settings, typed inputs on the contact card (a refused value
says which attribute), companies, the merge preview / merge / undo, the import job's page with
its bad-row report, the export download, and who may open what."""

from __future__ import annotations

import asyncio
import re
import time

from sodam.accounts.models import Role
from sodam.contacts import attributes
from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from tests.test_console_helpers import console_client, csrf_of, post


async def test_contact_card_attributes_companies_and_merge(live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as s:
        await attributes.create(
            s, workspace_id=ws.workspace_id, key="tier", label="등급", type="list", options=["VIP", "일반"]
        )
        await attributes.create(s, workspace_id=ws.workspace_id, key="ltv", label="누적 결제액", type="money")
        await attributes.create(s, workspace_id=ws.workspace_id, key="joined", label="가입일", type="date")
        minji = await contacts.create(
            s,
            workspace_id=ws.workspace_id,
            name="김민지",
            email="minji@example.com",
            custom_attributes={"tier": "VIP", "legacy": "<b>옛 값</b>"},
        )
        twin = await contacts.create(
            s, workspace_id=ws.workspace_id, name="민지", phone="010-1234-5678", company="소담상사"
        )
        await s.commit()
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = (await agent.get(f"/console/contacts/{minji.id}")).text
        card = page[page.index('id="contact-attributes"') :]
        assert 'name="attr.tier"' in card and '<option value="VIP" selected>' in card
        assert 'type="date" name="attr.joined"' in card and 'name="attr_currency.ltv"' in card
        # An attribute without a definition: plain, escaped text.
        assert "&lt;b&gt;옛 값&lt;/b&gt;" in page and "<b>옛 값</b>" not in page
        # A refused value names the attribute; nothing is saved.
        r = await post(
            agent, f"/console/contacts/{minji.id}", {"name": "김민지", "attr.tier": "골드", "language": ""}
        )
        assert r.status_code == 422 and "&#39;tier&#39;" in r.text and 'id="contact-error"' in r.text
        r = await post(
            agent,
            f"/console/contacts/{minji.id}",
            {
                "name": "김민지",
                "email": "minji@example.com",
                "company": "소담상사",
                "attr.tier": "일반",
                "attr.ltv": "125000",
                "attr_currency.ltv": "KRW",
                "attr.joined": "2024-03-01",
                "language": "ko",
            },
        )
        assert r.status_code == 200 and 'class="saved"' in r.text, r.text
        async with session_scope() as s:
            saved = await contacts.get(s, workspace_id=ws.workspace_id, contact_id=minji.id)
            assert saved.custom_attributes["ltv"] == {"amount": 125000, "currency": "KRW"}
            assert saved.company_id == twin.company_id  # the same company, found by name
        # Another contact's phone: the card says so (and suggests merging).
        r = await post(
            agent, f"/console/contacts/{minji.id}", {"name": "김민지", "phone": "01012345678", "language": ""}
        )
        assert f"#{twin.id}" in r.text and 'id="contact-error"' in r.text
        # Companies: the list counts, the page lists the contacts.
        companies = (await agent.get("/console/companies")).text
        assert "소담상사" in companies and re.search(
            r"소담상사</a></td><td></td><td></td><td>2</td>", companies
        )
        company = (await agent.get(f"/console/companies/{twin.company_id}")).text
        assert "김민지" in company and "민지" in company
        r = await agent.post(
            f"/console/companies/{twin.company_id}",
            data={
                "name": "소담 주식회사",
                "domain": "sodam.kr",
                "plan": "엔터프라이즈",
                "csrf_token": csrf_of(agent),
            },
        )
        assert r.status_code == 200 and 'class="saved"' in r.text
        pop = (await agent.get(f"/console/contacts/{twin.id}/screen-pop")).text
        assert "소담 주식회사" in pop and 'id="pop-company-plan"' in pop and "엔터프라이즈" in pop
        # Merge: search, preview with the conflicting name, merge choosing the other's name.
        found = (await agent.get(f"/console/contacts/{minji.id}/merge", params={"q": "민지"})).text
        assert f"/console/contacts/{minji.id}/merge?other={twin.id}" in found
        preview = (await agent.get(f"/console/contacts/{minji.id}/merge", params={"other": twin.id})).text
        assert 'name="choice.name"' in preview and 'name="choice.email"' not in preview
        r = await agent.post(
            f"/console/contacts/{minji.id}/merge",
            data={"other_id": str(twin.id), "choice.name": "loser", "csrf_token": csrf_of(agent)},
        )
        assert r.status_code == 303 and r.headers["location"] == f"/console/contacts/{minji.id}"
        merged = (await agent.get(f"/console/contacts/{minji.id}")).text
        assert (
            'id="merge-banner"' in merged and 'value="민지"' in merged and 'value="010-1234-5678"' in merged
        )
        undo = re.search(r'action="(/console/contact-merges/\d+/undo)"', merged).group(1)
        r = await agent.post(undo, data={"csrf_token": csrf_of(agent)})
        assert r.status_code == 303 and r.headers["location"] == f"/console/contacts/{twin.id}?undone=1"
        back = (await agent.get(r.headers["location"])).text
        assert 'id="merge-undone"' in back and 'value="010-1234-5678"' in back
        again = await agent.post(undo, data={"csrf_token": csrf_of(agent)})
        assert again.status_code == 303 and "undo_failed=merge_undone" in again.headers["location"]
        # Without the CSRF token: refused.
        assert (await agent.post(undo, data={})).status_code == 403
    finally:
        await agent.aclose()


async def test_attribute_settings_import_and_export_screens(live_server, make_workspace):
    ws = await make_workspace()
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        r = await agent.post(
            "/console/settings/contact-attributes",
            data={
                "key": "tier",
                "label": "등급",
                "type": "list",
                "options": "VIP\n일반",
                "csrf_token": csrf_of(agent),
            },
        )
        assert r.status_code == 200 and 'id="attributes-notice"' in r.text and "<code>tier</code>" in r.text
        r = await agent.post(
            "/console/settings/contact-attributes",
            data={"key": "tier", "label": "x", "type": "text", "csrf_token": csrf_of(agent)},
        )
        assert 'id="attributes-error"' in r.text
        csv = "이름,이메일,등급\n김민지,minji@example.com,VIP\n이준,bad-mail,일반\n박서준,seojun@example.com,골드\n".encode(
            "cp949"
        )
        r = await agent.post(
            "/console/contact-imports",
            data={"csrf_token": csrf_of(agent)},
            files={"file": ("고객.csv", csv, "text/csv")},
        )
        assert r.status_code == 303
        url = r.headers["location"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            panel = (await agent.get(url, headers={"HX-Request": "true"})).text
            if 'data-status="done"' in panel:
                break
            assert 'hx-trigger="every 1s"' in panel  # it polls while the job runs
            await asyncio.sleep(0.3)
        assert 'id="import-counts"' in panel and 'id="import-errors-download"' in panel
        report = (await agent.get(url + "/errors.csv")).content.decode("utf-8-sig").splitlines()
        assert [line.split(",")[0] for line in report[1:]] == ["3", "4"]
        # In the agent's language (Korean here), on the page and in the file.
        assert "이메일 주소가 올바르지 않습니다: bad-mail" in panel and report[0] == "줄,이유"
        assert report[2] == "4,\"'tier' 속성은 다음 중 하나여야 합니다: VIP, 일반 (입력값: 골드)\""
        exported = await agent.get("/console/contact-exports")
        assert exported.status_code == 200 and "김민지" in exported.content.decode("utf-8-sig")
    finally:
        await agent.aclose()
    # A plain agent sees contacts and companies but not the settings, merge or import screens.
    async with session_scope() as s:
        from sodam.accounts import service as accounts

        await accounts.create_agent(
            s,
            workspace_id=ws.workspace_id,
            email=f"plain@{ws.slug}.test",
            name="상담원",
            password="correct-horse-battery",
            role=Role.agent,
        )
        await s.commit()
    plain = await console_client(live_server, f"plain@{ws.slug}.test", "correct-horse-battery")
    try:
        assert (await plain.get("/console/companies")).status_code == 200
        for path in (
            "/console/settings/contact-attributes",
            "/console/contact-imports",
            "/console/contact-exports",
        ):
            assert (await plain.get(path)).status_code == 403, path
    finally:
        await plain.aclose()
