"""The IVR: each webhook request of a call → the TwiML the provider runs next.

Steps (paths under /voice/v1/{inbox token}/):
  incoming              announcements first, then the root menu (outside hours: the closed menu)
  menu/{node}?attempt=N a key press (Digits) in a menu; no key or a wrong key repeats the menu
                        once, then the caller goes to a person
  closed?attempt=N      outside hours: 1 voicemail, 2 callback (0 or nothing: voicemail)
  callback?slot=…       1 books the offered slot for the caller's number; 0 a person
  voicemail             the recording (RecordingUrl, RecordingDuration) → the human queue
  dialed                the end of a forward (<Dial>)
  enqueued              the end of the wait for a person (<Enqueue>: QueueResult)
  status                the provider's status callback (CallStatus, CallDuration)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.channels.promise import business_hours
from sodam.core.errors import AppError
from sodam.core.i18n import gettext
from sodam.hours import calendar
from sodam.voice import callbacks, ivr, numbers, service, slots
from sodam.voice.models import Call, PhoneLine
from sodam.voice.twiml import Response

MAX_ATTEMPTS = 2  # a menu is said twice; then the caller goes to a person


@dataclass
class Step:
    session: AsyncSession
    inbox: Inbox
    line: PhoneLine
    call: Call
    base: str  # https://host/voice/v1/{token}
    params: dict[str, str]
    now: datetime

    @property
    def lang(self) -> str:
        return self.call.language if self.call.language in ("ko", "en") else "ko"

    def t(self, key: str, **kw: Any) -> str:
        return gettext(self.lang, f"voice.say.{key}", **kw)

    def url(self, path: str, **query: Any) -> str:
        return f"{self.base}/{path}" + (f"?{urlencode(query)}" if query else "")

    def step_url(self, path: str, **query: Any) -> str:
        """A Gather's action: `n` (the steps so far) makes each menu said its own step, so
        a replayed menu is not mistaken for a retry of the last one."""
        return self.url(path, **query, n=len(self.call.path or []))

    @property
    def tree(self) -> dict[str, Any]:
        return ivr.tree_of(self.line.ivr)

    @property
    def hours(self) -> dict[str, Any]:
        return business_hours(self.inbox)


def _menu(step: Step, r: Response, node_id: str, attempt: int) -> Response:
    node = step.tree["nodes"][node_id]
    other = "en" if step.lang == "ko" else "ko"
    action = step.step_url(f"menu/{node_id}", attempt=attempt)
    r.gather(
        action,
        [
            (node["prompt"][step.lang], step.lang),
            (step.t("zero"), step.lang),
            (gettext(other, "voice.say.switch"), other),
        ],
    )
    return r.redirect(action)  # no key pressed: the same action without Digits


def _closed_menu(step: Step, r: Response, attempt: int) -> Response:
    opens = calendar.next_opening(step.hours, step.now)
    when = callbacks.when_text(opens, step.hours, step.lang) if opens else ""
    action = step.step_url("closed", attempt=attempt)
    r.gather(action, [(step.t("closed", when=when) if when else step.t("closed_unknown"), step.lang)])
    return r.redirect(action)


def _open(step: Step) -> bool:
    return calendar.is_open(step.hours, step.now)


async def _person(step: Step, r: Response, team_id: int | None = None, *, lost: bool = False) -> Response:
    """To a person: the call waits in the human queue (a conversation routing assigns)."""
    if not _open(step):
        r.say(step.t("no_person_now"), step.lang)
        return _voicemail_prompt(step, r)
    team_id = team_id if team_id is not None else step.line.team_id
    conversation = await service.call_conversation(
        step.session,
        inbox=step.inbox,
        call=step.call,
        team_id=team_id,
        reason=gettext("ko", "voice.conversation.waiting", number=numbers.display(step.call.from_number)),
    )
    r.say(step.t("to_person_lost" if lost else "to_person"), step.lang)
    return r.enqueue(
        f"sodam-{step.inbox.id}-team-{team_id or 0}",
        action=step.url("enqueued", conversation=conversation.id),
    )


def _voicemail_prompt(step: Step, r: Response) -> Response:
    r.say(step.t("voicemail"), step.lang)
    r.record(step.url("voicemail"))
    return r.say(step.t("no_recording"), step.lang).hangup()


async def _callback_offer(step: Step, r: Response) -> Response:
    offered = await slots.offered(step.session, line=step.line, config=step.hours, now=step.now)
    number = numbers.normalise(step.call.from_number)
    if not offered or number is None:
        r.say(step.t("no_slots"), step.lang)
        return _voicemail_prompt(step, r)
    first = offered[0].start
    action = step.step_url("callback", slot=first.isoformat())
    r.gather(
        action,
        [
            (
                step.t(
                    "callback_offer",
                    when=callbacks.when_text(first, step.hours, step.lang),
                    phone=" ".join(numbers.display(number).replace("-", " ")),
                ),
                step.lang,
            )
        ],
    )
    return r.redirect(action)


async def incoming(step: Step) -> Response:
    r = Response()
    for a in await service.active_announcements(step.session, step.inbox.workspace_id):
        text = a.text_en if step.lang == "en" and a.text_en else a.text_ko
        r.say(text, "en" if step.lang == "en" and a.text_en else "ko")
    if not _open(step):
        return _closed_menu(step, r, 1)
    return _menu(step, r, step.tree["root"], 1)


async def menu(step: Step, node_id: str, attempt: int) -> Response:
    r = Response()
    tree = step.tree
    if node_id not in tree["nodes"]:
        node_id = tree["root"]
    digits = (step.params.get("Digits") or "").strip()
    service.note_path(step.call, node_id, digits)
    if digits == "*":  # the other language, same menu
        step.call.language = "en" if step.lang == "ko" else "ko"
        return _menu(step, r, node_id, attempt)
    option = tree["nodes"][node_id]["options"].get(digits) if len(digits) == 1 else None
    if option is None:
        if attempt >= MAX_ATTEMPTS:
            return await _person(step, r, lost=True)
        if digits:
            r.say(step.t("invalid"), step.lang)
        return _menu(step, r, node_id, attempt + 1)
    action = option["action"]
    if action == "menu":
        return _menu(step, r, option["node"], 1)
    if action in ("queue", "person"):
        return await _person(step, r, option.get("team_id"))
    if action == "callback":
        return await _callback_offer(step, r)
    if action == "voicemail":
        return _voicemail_prompt(step, r)
    if action == "announcement":
        r.say(option["text"][step.lang] or option["text"]["ko"], step.lang)
        return _menu(step, r, node_id, 1)
    if action == "forward":
        service.set_outcome(step.call, "forwarded")
        r.say(step.t("forwarding"), step.lang)
        return r.dial(option["number"], step.url("dialed"), caller_id=step.line.number)
    return await _person(step, r)


async def closed(step: Step, attempt: int) -> Response:
    r = Response()
    digits = (step.params.get("Digits") or "").strip()
    service.note_path(step.call, "closed", digits)
    if digits == "2":
        return await _callback_offer(step, r)
    if digits in ("1", "0") or attempt >= MAX_ATTEMPTS:
        return _voicemail_prompt(step, r)
    if digits:
        r.say(step.t("invalid"), step.lang)
    return _closed_menu(step, r, attempt + 1)


async def callback(step: Step, slot: str) -> Response:
    r = Response()
    digits = (step.params.get("Digits") or "").strip()
    service.note_path(step.call, "callback", digits)
    if digits != "1":
        return await _person(step, r, lost=digits != "0")
    contact = await step.session.get(service.Contact, step.call.contact_id)
    try:
        booked = await callbacks.book(
            step.session,
            inbox=step.inbox,
            line=step.line,
            contact=contact,
            phone=step.call.from_number,
            slot_at=datetime.fromisoformat(slot),
            source="ivr",
            language=step.lang,
            now=step.now,
        )
    except (AppError, ValueError):  # the slot went meanwhile: offer the next one
        return await _callback_offer(step, r)
    service.set_outcome(step.call, "callback_requested", replace=True)
    r.say(
        step.t("callback_booked", when=callbacks.when_text(booked.slot_at, step.hours, step.lang)), step.lang
    )
    return r.hangup()


async def voicemail(step: Step) -> Response:
    r = Response()
    url = (step.params.get("RecordingUrl") or "").strip()
    if not url:
        return r.say(step.t("no_recording"), step.lang).hangup()
    try:
        duration = max(0, int(step.params.get("RecordingDuration") or 0))
    except ValueError:
        duration = 0
    await service.store_voicemail(
        step.session,
        inbox=step.inbox,
        call=step.call,
        url=url,
        duration_s=duration,
        team_id=step.line.team_id,
        content=gettext(
            "ko", "voice.conversation.voicemail", duration=f"{duration // 60}:{duration % 60:02d}"
        ),
    )
    return r.say(step.t("voicemail_saved"), step.lang).hangup()


async def dialed(step: Step) -> Response:
    r = Response()
    status = step.params.get("DialCallStatus") or ""
    if status in ("busy", "no-answer", "failed", "canceled"):
        r.say(step.t("forward_failed"), step.lang)
        return _voicemail_prompt(step, r)
    service.set_outcome(step.call, "forwarded")
    return r.hangup()


async def enqueued(step: Step) -> Response:
    result = step.params.get("QueueResult") or ""
    if result == "bridged":
        service.set_outcome(step.call, "answered", replace=True)
    elif result in ("hangup", "leave", "error", "system-error", "queue-full"):
        service.set_outcome(step.call, "abandoned")
    return Response().hangup()


async def status(step: Step) -> Response:
    try:
        duration = int(step.params["CallDuration"]) if step.params.get("CallDuration") else None
    except ValueError:
        duration = None
    await service.status_changed(
        step.session,
        call=step.call,
        status=step.params.get("CallStatus") or "",
        duration_s=duration,
        now=step.now,
    )
    return Response()
