"""One contact per e-mail and per phone (identify twice -> one contact, 409 on API create),
typed attribute definitions and their validation, companies."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import httpx
import pytest

from sodam.channels import identity
from sodam.channels import service as inboxes
from sodam.db.session import session_scope
from sodam.mail import inbound as _mail  # noqa: F401  (the e-mail channel's contact rule lives in contacts)
from tests.test_api_helpers import assert_error, client
from tests.webhooks.helpers import api as root_api
from tests.webhooks.helpers import api_inbox


@pytest.fixture
async def web(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as c:
        yield c


async def boot(web, ws, member: dict) -> dict:
    r = await web.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko", "member": member})
    assert r.status_code == 200, r.text
    return r.json()


async def test_api_create_of_a_duplicate_answers_409_with_the_existing_id(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        first = await api.post(
            "/contacts", json={"name": "김민지", "email": "Minji@Example.com", "phone": "010-1234-5678"}
        )
        assert first.status_code == 201, first.text
        contact = first.json()
        # The same e-mail in another case, the same number written another way.
        for body, field in (
            ({"name": "x", "email": "minji@example.COM"}, "email"),
            ({"name": "x", "phone": "+82 10 1234 5678"}, "phone"),
            ({"name": "x", "phone": "01012345678"}, "phone"),
        ):
            error = assert_error(await api.post("/contacts", json=body), 409, "contact_exists")
            assert error["details"] == {"contact_id": contact["id"], "field": field}
        other = (await api.post("/contacts", json={"name": "이준", "email": "jun@example.com"})).json()
        # Changing a contact to another's e-mail: 409 as well.
        error = assert_error(
            await api.patch(f"/contacts/{other['id']}", json={"email": "MINJI@example.com"}), 409
        )
        assert error["details"]["contact_id"] == contact["id"]
        # Its own e-mail again is fine.
        assert (
            await api.patch(f"/contacts/{contact['id']}", json={"email": "minji@example.com"})
        ).status_code == 200
    # Another workspace may have the same person.
    other_ws = await make_workspace()
    async with client(live_server, other_ws.api_token) as api:
        assert (await api.post("/contacts", json={"email": "minji@example.com"})).status_code == 201


async def test_identify_twice_lands_on_one_contact(live_server, make_workspace, web):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        made = (
            await api.post(
                "/contacts", json={"name": "박서준", "email": "seojun@example.com", "phone": "010-2222-3333"}
            )
        ).json()
    # A verified widget member with that e-mail lands on the contact made by the API.
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        secret = await identity.rotate_secret(session, inbox)
        await session.commit()
    sign = lambda m: hmac.new(secret.encode(), m.encode(), hashlib.sha256).hexdigest()  # noqa: E731
    first = await boot(web, ws, {"member_id": "u-1", "email": "SEOJUN@example.com", "hash": sign("u-1")})
    assert first["verified"] and first["contact_id"] == made["id"]
    # A second member id with the same phone: the contact is already another member's, so a new one.
    second = await boot(web, ws, {"member_id": "u-2", "phone": "01022223333", "hash": sign("u-2")})
    assert second["contact_id"] != made["id"]
    # An unverified visitor claiming the e-mail never joins it: the claim is kept aside.
    anonymous = await boot(web, ws, {"member_id": "u-1", "email": "seojun@example.com", "hash": "00" * 32})
    assert anonymous["contact_id"] != made["id"]
    async with client(live_server, ws.api_token) as api:
        claimed = (await api.get(f"/contacts/{anonymous['contact_id']}")).json()
        assert (
            claimed["email"] is None and claimed["custom_attributes"]["claimed_email"] == "seojun@example.com"
        )
        u2 = (await api.get(f"/contacts/{second['contact_id']}")).json()
        assert u2["phone"] is None and u2["custom_attributes"]["claimed_phone"] == "01022223333"
        # The API channel (the company's own server) with a known phone: the same contact.
    async with root_api(live_server, ws.api_token) as root:
        inbox_id = await api_inbox(root)
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            f"/inboxes/{inbox_id}/conversations",
            json={"source_id": "kakao-1", "phone": "+821022223333", "content": "문의드려요"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 201, r.text
        assert r.json()["contact_id"] == made["id"]
        again = await api.post(
            f"/inboxes/{inbox_id}/conversations",
            json={"source_id": "kakao-2", "email": "Seojun@Example.com", "content": "또 문의"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert again.json()["contact_id"] == made["id"]
    # Inbound e-mail from that address: the same contact too.
    from sodam.contacts import service as contacts

    async with session_scope() as session:
        found = await contacts.contact_for_email(
            session, workspace_id=ws.workspace_id, address="seojun@EXAMPLE.com"
        )
        assert found.id == made["id"]
        twice = await contacts.contact_for_email(
            session, workspace_id=ws.workspace_id, address="new@example.com"
        )
        thrice = await contacts.contact_for_email(
            session, workspace_id=ws.workspace_id, address="NEW@example.com"
        )
        assert twice.id == thrice.id


async def test_typed_attributes_are_validated_with_the_key_named(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        for body in (
            {"key": "tier", "label": "등급", "type": "list", "options": ["VIP", "일반"]},
            {"key": "ltv", "label": "누적 결제액", "type": "money"},
            {"key": "orders", "label": "주문 수", "type": "number"},
            {"key": "joined", "label": "가입일", "type": "date"},
            {"key": "marketing", "label": "마케팅 동의", "type": "boolean"},
            {"key": "memo", "label": "메모", "type": "text"},
        ):
            r = await api.post("/contact-attributes", json=body)
            assert r.status_code == 201, r.text
        assert_error(
            await api.post("/contact-attributes", json={"key": "tier", "type": "text"}),
            409,
            "attribute_exists",
        )
        assert_error(
            await api.post("/contact-attributes", json={"key": "Bad Key", "type": "text"}), 422, "invalid_key"
        )
        assert_error(
            await api.post("/contact-attributes", json={"key": "kind", "type": "list"}),
            422,
            "invalid_options",
        )
        listed = (await api.get("/contact-attributes")).json()
        assert [d["key"] for d in listed] == ["tier", "ltv", "orders", "joined", "marketing", "memo"]
        assert next(d for d in listed if d["key"] == "ltv")["currency"] == "KRW"

        good = await api.post(
            "/contacts",
            json={
                "name": "정하늘",
                "custom_attributes": {
                    "tier": "VIP",
                    "ltv": 1250000,
                    "orders": "12",
                    "joined": "2024-03-01",
                    "marketing": "예",
                    "memo": "전화 선호",
                    "legacy_note": {"any": "shape"},  # undefined keys keep working
                },
            },
        )
        assert good.status_code == 201, good.text
        attrs = good.json()["custom_attributes"]
        assert attrs["ltv"] == {"amount": 1250000, "currency": "KRW"} and attrs["orders"] == 12
        assert attrs["marketing"] is True and attrs["joined"] == "2024-03-01"
        assert attrs["legacy_note"] == {"any": "shape"}
        usd = await api.patch(
            f"/contacts/{good.json()['id']}",
            json={"custom_attributes": {"ltv": {"amount": 10.5, "currency": "usd"}}},
        )
        assert usd.json()["custom_attributes"]["ltv"] == {"amount": 10.5, "currency": "USD"}
        for key, value, word in (
            ("tier", "Gold", "VIP"),
            ("orders", "열두 개", "number"),
            ("joined", "어제", "YYYY-MM-DD"),
            ("marketing", "maybe", "true or false"),
            ("ltv", "비쌈", "amount"),
        ):
            error = assert_error(
                await api.post("/contacts", json={"custom_attributes": {key: value}}),
                422,
                "invalid_attribute",
            )
            assert error["details"]["attribute"] == key and word in error["message"], error
            error = assert_error(
                await api.patch(f"/contacts/{good.json()['id']}", json={"custom_attributes": {key: value}}),
                422,
            )
            assert error["details"]["attribute"] == key
        # A definition's label changes; removing it leaves the stored values as plain text.
        tier = next(d for d in listed if d["key"] == "tier")
        r = await api.patch(f"/contact-attributes/{tier['id']}", json={"options": ["VIP", "일반", "Gold"]})
        assert r.json()["options"] == ["VIP", "일반", "Gold"]
        assert (await api.delete(f"/contact-attributes/{tier['id']}")).status_code == 204
        free = await api.patch(
            f"/contacts/{good.json()['id']}", json={"custom_attributes": {"tier": "아무 값"}}
        )
        assert free.json()["custom_attributes"]["tier"] == "아무 값"


async def test_companies_crud_counts_and_contacts(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        made = await api.post(
            "/companies", json={"name": "소담상사", "domain": "https://www.Sodam.kr/about", "plan": "pro"}
        )
        assert made.status_code == 201, made.text
        company = made.json()
        assert company["domain"] == "sodam.kr" and company["contact_count"] == 0
        assert_error(
            await api.post("/companies", json={"name": "다른 회사", "domain": "SODAM.kr"}),
            409,
            "company_domain_taken",
        )
        assert_error(
            await api.post("/companies", json={"name": "x", "domain": "not a domain"}), 422, "invalid_domain"
        )
        # A contact joins by id, by name (found case-insensitively) or by domain (created if new).
        a = (await api.post("/contacts", json={"name": "가", "company_id": company["id"]})).json()
        b = (await api.post("/contacts", json={"name": "나", "company": "소담상사"})).json()
        c = (
            await api.post(
                "/contacts", json={"name": "다", "company": "새 회사", "company_domain": "new.example"}
            )
        ).json()
        assert a["company_id"] == b["company_id"] == company["id"] and b["company"] == "소담상사"
        assert c["company_id"] != company["id"] and c["company"] == "새 회사"
        listed = (await api.get("/companies")).json()["data"]
        counts = {x["name"]: x["contact_count"] for x in listed}
        assert counts == {"소담상사": 2, "새 회사": 1}
        members = (await api.get(f"/companies/{company['id']}/contacts")).json()["data"]
        assert {m["id"] for m in members} == {a["id"], b["id"]}
        renamed = await api.patch(f"/companies/{company['id']}", json={"name": "소담 주식회사"})
        assert renamed.json()["name"] == "소담 주식회사" and renamed.json()["contact_count"] == 2
        assert (await api.get(f"/contacts/{a['id']}")).json()["company"] == "소담 주식회사"
        moved = await api.patch(f"/contacts/{a['id']}", json={"company_id": c["company_id"]})
        assert moved.json()["company"] == "새 회사"
        cleared = await api.patch(f"/contacts/{b['id']}", json={"company_id": None})
        assert cleared.json()["company_id"] is None and cleared.json()["company"] is None
        assert (await api.delete(f"/companies/{c['company_id']}")).status_code == 204
        gone = (await api.get(f"/contacts/{a['id']}")).json()
        assert gone["company_id"] is None and gone["company"] is None
        # Another workspace's company id is unknown here.
    other = await make_workspace()
    async with client(live_server, other.api_token) as api:
        assert_error(await api.get(f"/companies/{company['id']}"), 404)
        assert_error(await api.post("/contacts", json={"name": "x", "company_id": company["id"]}), 404)
