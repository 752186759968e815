"""The voice webhook driven over HTTP exactly as a Twilio-compatible provider drives it:
form-encoded POSTs signed with X-Twilio-Signature, TwiML back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from sodam.contacts import service as contacts
from sodam.conversations.models import Conversation, Message, Status
from sodam.db.session import session_scope
from sodam.voice.models import Call
from tests.voice.helpers import TREE, Provider, gather_action, phone_inbox, says, sign, verbs
from tests.webhooks.helpers import api


@pytest.fixture
async def line(live_server, make_workspace, db):
    ws = await make_workspace()
    client = api(live_server, ws.api_token)
    inbox_id, out = await phone_inbox(client)
    r = await client.put(f"/api/v1/phone/lines/{inbox_id}", json={"ivr": TREE})
    assert r.status_code == 200, r.text
    yield ws, client, inbox_id, out["webhook_url"]
    await client.aclose()


async def _conversation(conversation_id: int) -> Conversation:
    async with session_scope() as session:
        return await session.get(Conversation, conversation_id)


async def _call(inbox_id: int, call_sid: str) -> Call:
    async with session_scope() as session:
        return await session.scalar(select(Call).where(Call.inbox_id == inbox_id, Call.call_sid == call_sid))


async def test_a_bad_or_missing_signature_is_refused(line):
    _ws, client, inbox_id, url = line
    call = Provider(client, url)
    assert (await call.post(url, signature="bm90IHRoZSBzaWduYXR1cmU=")).status_code == 403
    assert (await call.post(url, signature="")).status_code == 403
    # Signed with another token (another account), or over another URL: refused too.
    assert (await Provider(client, url, token="someone-elses-token").post(url)).status_code == 403
    forged = await client.post(
        url, data=call.params(), headers={"X-Twilio-Signature": sign(call.token, url + "?x=1", call.params())}
    )
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "invalid_signature"
    assert await _call(inbox_id, call.call_sid) is None  # nothing was recorded
    ok = await call.post(url)
    assert ok.status_code == 200, ok.text


async def test_menu_paths_korean_prompts_and_zero_to_a_person_at_every_level(line):
    ws, client, inbox_id, url = line
    # A known customer: the caller's number matches the contact's phone however it was written.
    async with session_scope() as session:
        known = await contacts.create(
            session, workspace_id=ws.workspace_id, name="김민지", phone="010-1234-5678"
        )
        await session.commit()
    call = Provider(client, url)
    doc = await call.twiml(url)
    gather = doc.find("Gather")
    assert gather.get("numDigits") == "1" and gather.get("input") == "dtmf"
    spoken = gather.findall("Say")
    assert spoken[0].get("language") == "ko-KR" and "주문 문의는 1번" in spoken[0].text
    assert "0번" in spoken[1].text  # every menu offers a person with 0
    assert spoken[2].get("language") == "en-US"  # "For English, press star."
    assert verbs(doc)[-1] == "Redirect"  # no key: the same action again
    # 1 → the orders submenu, 2 → the returns submenu, then 0 there → a person.
    doc = await call.twiml(gather_action(doc), Digits="1")
    assert "배송 조회는 1번" in says(doc)[0]
    doc = await call.twiml(gather_action(doc), Digits="2")
    assert "반품 메뉴입니다" in says(doc)[0]
    doc = await call.twiml(gather_action(doc), Digits="0")
    enqueue = doc.find("Enqueue")
    assert enqueue is not None and enqueue.text.startswith(f"sodam-{inbox_id}")
    placed = await _call(inbox_id, call.call_sid)
    assert placed.contact_id == known.id
    assert [step["node"] for step in placed.path] == ["main", "orders", "returns"]
    conversation = await _conversation(placed.conversation_id)
    assert conversation.inbox_id == inbox_id and conversation.contact_id == known.id
    assert conversation.status == Status.open and conversation.queued_at is not None  # in the human queue
    # The waiting caller is answered: the call's outcome.
    await call.twiml(enqueue.get("action"), QueueResult="bridged")
    assert (await _call(inbox_id, call.call_sid)).outcome == "answered"

    # 0 at every level of the tree goes to a person.
    for node in TREE["nodes"]:
        other = Provider(client, url, caller="+821099990000")
        await other.twiml(url)
        doc = await other.twiml(f"menu/{node}?attempt=1", Digits="0")
        assert doc.find("Enqueue") is not None, node


async def test_invalid_digit_and_no_input_repeat_once_then_a_person(line):
    _ws, client, inbox_id, url = line
    call = Provider(client, url)
    first = gather_action(await call.twiml(url))
    doc = await call.twiml(first, Digits="8")  # no option 8
    assert says(doc)[0] == "잘못 누르셨습니다."
    second = gather_action(doc)
    assert "attempt=2" in second
    doc = await call.twiml(second, Digits="7")
    assert doc.find("Enqueue") is not None  # lost twice: a person, not a dead end
    # No key at all (the <Redirect> after the <Gather>): repeated, then a person.
    quiet = Provider(client, url, caller="+821055556666")
    redirect = (await quiet.twiml(url)).find("Redirect").text
    doc = await quiet.twiml(redirect)
    assert "잘못" not in " ".join(says(doc)) and "attempt=2" in gather_action(doc)
    doc = await quiet.twiml(doc.find("Redirect").text)
    assert doc.find("Enqueue") is not None


async def test_voicemail_lands_in_the_human_queue_once(line):
    _ws, client, inbox_id, url = line
    call = Provider(client, url)
    doc = await call.twiml(gather_action(await call.twiml(url)), Digits="4")
    record = doc.find("Record")
    assert record is not None and record.get("finishOnKey") == "#"
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE123"
    first = await call.post(record.get("action"), RecordingUrl=recording, RecordingDuration="42")
    again = await call.post(record.get("action"), RecordingUrl=recording, RecordingDuration="42")
    assert first.status_code == again.status_code == 200 and first.text == again.text  # a retry
    placed = await _call(inbox_id, call.call_sid)
    assert placed.outcome == "voicemail"
    conversation = await _conversation(placed.conversation_id)
    assert "voicemail" in conversation.tags and conversation.queued_at is not None
    assert conversation.assignee_id is None and conversation.status == Status.open
    async with session_scope() as session:
        messages = list(
            await session.scalars(
                select(Message).where(
                    Message.conversation_id == conversation.id, Message.sender_type == "contact"
                )
            )
        )
    assert len(messages) == 1
    assert messages[0].payload["voicemail"] == {"url": recording, "duration_s": 42, "call_sid": call.call_sid}
    # The console plays it (an http(s) URL) in the conversation and lists it in the shared box.
    r = await client.get(f"/api/v1/conversations/{conversation.id}")
    assert r.status_code == 200


async def test_forward_dials_the_outside_number_and_announcement_option(line):
    _ws, client, inbox_id, url = line
    call = Provider(client, url)
    menu = gather_action(await call.twiml(url))
    doc = await call.twiml(menu, Digits="5")
    assert says(doc)[0] == "배송은 2일 걸립니다" and doc.find("Gather") is not None  # then the menu again
    doc = await call.twiml(menu, Digits="6")
    dial = doc.find("Dial")
    assert dial.find("Number").text == "+8225551234" and dial.get("callerId") == "+8215881234"
    await call.twiml(dial.get("action"), DialCallStatus="completed")
    assert (await _call(inbox_id, call.call_sid)).outcome == "forwarded"
    # The end of the call (status callback): its length and end; the outcome stays.
    await call.twiml("status", CallStatus="completed", CallDuration="73")
    ended = await _call(inbox_id, call.call_sid)
    assert ended.duration_s == 73 and ended.ended_at is not None and ended.outcome == "forwarded"


async def test_outside_hours_says_when_it_opens_and_offers_voicemail_and_callback(
    live_server, make_workspace, db
):
    ws = await make_workspace()
    client = api(live_server, ws.api_token)
    opening = datetime.now(ZoneInfo("Asia/Seoul")).date() + timedelta(days=10)
    closed = {
        "timezone": "Asia/Seoul",
        "days": {},
        "holiday_country": None,
        "extra_days": {opening.isoformat(): [["09:00", "18:00"]]},
    }
    inbox_id, out = await phone_inbox(client, hours=closed)
    call = Provider(client, out["webhook_url"])
    doc = await call.twiml(out["webhook_url"])
    text = " ".join(says(doc))
    weekday = "월화수목금토일"[opening.weekday()]
    assert (
        "운영 시간이 아닙니다" in text and f"{opening.month}월 {opening.day}일({weekday}) 09:00부터" in text
    )
    action = gather_action(doc)
    assert "/closed" in action
    doc = await call.twiml(action, Digits="1")
    assert doc.find("Record") is not None
    # 0 outside hours: nobody is there, so voicemail rather than a queue nobody works.
    other = Provider(client, out["webhook_url"], caller="+821022223333")
    await other.twiml(out["webhook_url"])
    assert (await other.twiml(action, Digits="0")).find("Record") is not None
    await client.aclose()


async def test_an_active_announcement_is_played_first(line):
    _ws, client, inbox_id, url = line
    r = await client.post(
        "/api/v1/phone/announcements",
        json={"text_ko": "현재 결제 장애가 있습니다.", "text_en": "Payments are down."},
    )
    assert r.status_code == 201, r.text
    call = Provider(client, url)
    doc = await call.twiml(url)
    assert verbs(doc)[0] == "Say" and doc[0].text == "현재 결제 장애가 있습니다."
    # Switched off: not played.
    await client.patch(f"/api/v1/phone/announcements/{r.json()['id']}", json={"active": False})
    doc = await Provider(client, url, caller="+821077778888").twiml(url)
    assert verbs(doc)[0] == "Gather"


async def test_a_retried_step_is_answered_the_same_and_the_call_is_on_the_timeline(line):
    ws, client, inbox_id, url = line
    call = Provider(client, url)
    first = await call.post(url)
    second = await call.post(url)
    assert first.text == second.text
    async with session_scope() as session:
        count = len(list(await session.scalars(select(Call).where(Call.call_sid == call.call_sid))))
    assert count == 1
    await call.twiml("status", CallStatus="completed", CallDuration="5")
    placed = await _call(inbox_id, call.call_sid)
    assert placed.outcome == "abandoned" and placed.duration_s == 5
    timeline = await client.get(f"/api/v1/contacts/{placed.contact_id}/timeline")
    assert timeline.status_code == 200, timeline.text
    calls = [e for e in timeline.json()["data"] if e["kind"] == "call"]
    assert calls and calls[0]["data"]["outcome"] == "abandoned" and calls[0]["data"]["duration_s"] == 5
    listed = await client.get("/api/v1/calls", params={"contact_id": placed.contact_id})
    assert [c["call_sid"] for c in listed.json()] == [call.call_sid]
    # The console's timeline shows the call with its outcome.
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as browser:
        await browser.get("/console/login")
        await browser.post(
            "/console/login",
            data={
                "email": ws.agent_email,
                "password": ws.agent_password,
                "csrf_token": browser.cookies.get("sodam_csrf"),
            },
        )
        page = await browser.get(f"/console/contacts/{placed.contact_id}/timeline")
    assert page.status_code == 200 and 'data-kind="call"' in page.text and "끊김(포기)" in page.text


async def test_the_menu_cannot_take_zero_away_and_is_validated(line):
    _ws, client, inbox_id, _url = line
    bad = {
        "root": "main",
        "nodes": {"main": {"prompt": {"ko": "안내", "en": "Hi"}, "options": {"0": {"action": "voicemail"}}}},
    }
    r = await client.put(f"/api/v1/phone/lines/{inbox_id}", json={"ivr": bad})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_ivr"
    assert {p["code"] for p in r.json()["error"]["details"]["problems"]} == {"zero_is_a_person"}
    missing = {
        "root": "main",
        "nodes": {
            "main": {
                "prompt": {"ko": "안내"},
                "options": {
                    "1": {"action": "menu", "node": "nowhere"},
                    "2": {"action": "forward", "number": "abc"},
                },
            }
        },
    }
    r = await client.put(f"/api/v1/phone/lines/{inbox_id}", json={"ivr": missing})
    codes = {p["code"] for p in r.json()["error"]["details"]["problems"]}
    assert codes == {"prompt_missing", "unknown_node", "invalid_number"}
    # A tree without 0 gets it: the stored tree always has 0 → a person.
    fine = {
        "root": "main",
        "nodes": {"main": {"prompt": {"ko": "안내", "en": "Hi"}, "options": {"1": {"action": "voicemail"}}}},
    }
    r = await client.put(f"/api/v1/phone/lines/{inbox_id}", json={"ivr": fine})
    assert r.status_code == 200 and r.json()["ivr"]["nodes"]["main"]["options"]["0"] == {"action": "person"}
