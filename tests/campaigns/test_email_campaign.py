"""An e-mail campaign end to end against a real SMTP relay on loopback: each contact of the
segment gets one mail in their language from the inbox's address, the copy personalised, the
link tracked, and opening the mail (its pixel) counts it as opened."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from tests.campaigns.helpers import segment, wait_for
from tests.mail.support import Sink, email_inbox
from tests.webhooks.helpers import api as make_api


async def test_an_email_campaign_reaches_each_contact_once_in_their_language(live_server, make_workspace):
    ws = await make_workspace()
    sink = Sink()
    try:
        inbox_id, address = await email_inbox(ws, relay_port=sink.port)
        tag = secrets.token_hex(3)
        people = [("김민지", "ko"), ("이서준", "ko"), ("Alex Kim", "en")]
        async with session_scope() as session:
            for i, (name, language) in enumerate(people):
                await contacts.create(
                    session,
                    workspace_id=ws.workspace_id,
                    name=name,
                    email=f"c{i}-{tag}@customer.example",
                    language=language,
                )
            await session.commit()
        async with make_api(live_server, ws.api_token) as api:
            seg = await segment(api)
            made = await api.post(
                "/api/v1/campaigns",
                json={
                    "name": "새 기능 안내",
                    "segment_id": seg,
                    "inbox_id": inbox_id,
                    "channel": "email",
                    "subject_ko": "새 기능을 소개합니다",
                    "subject_en": "Meet our new feature",
                    "body_ko": "{name}님, 새 기능을 소개합니다. https://shop.example/new",
                    "body_en": "Hi {name}, meet our new feature. https://shop.example/new",
                    "rate_per_s": 50,
                },
            )
            assert made.status_code == 201, made.text
            cid = made.json()["id"]
            assert (await api.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
            stats = await wait_for(api, cid)
            assert stats["sent"] == 3
            got = await sink.wait_for(3)
            await asyncio.sleep(1)
            assert len(sink.received) == 3  # once each
            by_rcpt = {rcpts[0]: mail for rcpts, mail in got}
            assert sorted(by_rcpt) == sorted(f"c{i}-{tag}@customer.example" for i in range(3))
            ko = by_rcpt[f"c0-{tag}@customer.example"]
            en = by_rcpt[f"c2-{tag}@customer.example"]
            assert ko["Subject"] == "새 기능을 소개합니다" and en["Subject"] == "Meet our new feature"
            assert address in ko["From"]
            ko_text = ko.get_body(("plain",)).get_content()
            assert ko_text.startswith("김민지님, 새 기능을 소개합니다.")
            assert "https://shop.example/new" not in ko_text  # the link goes through the redirect
            html = en.get_body(("html",)).get_content()
            pixel = html.split('<img src="', 1)[1].split('"', 1)[0]
            # The address of the process whose worker sent it (any test server here; one
            # SODAM_PUBLIC_URL in production): the path is what counts.
            path = "/c/o/" + pixel.split("/c/o/", 1)[1]
            assert pixel.startswith("http://127.0.0.1:") and path.endswith(".gif")
            async with httpx.AsyncClient() as web:
                seen = await web.get(live_server.url + path)
            assert seen.status_code == 200 and seen.headers["content-type"] == "image/gif"
            stats = (await api.get(f"/api/v1/campaigns/{cid}/stats")).json()
            assert stats["opened"] == 1
    finally:
        sink.stop()
