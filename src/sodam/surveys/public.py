"""The survey a customer answers: the public page `/s/{token}` (ko/en, works on a phone and
without the widget) and the widget's card (`/widget/v1/{inbox}/surveys/{token}`, visitor
token in a header, CORS by the inbox's allowed origins like the rest of the widget API).

The link token (256 random bits) is the recipient's credential: nothing else is needed to
answer, and it names one invitation only. An expired link answers 410 (`survey_expired`):
a ko/en page in the browser, the error body in the widget API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.core.deps import get_session
from sodam.core.errors import AppError, NotFound
from sodam.core.i18n import gettext, normalise
from sodam.core.ratelimit import client_ip, enforce
from sodam.core.templating import render
from sodam.surveys import questions as Q
from sodam.surveys import service
from sodam.surveys.schemas import AnswerIn

router = APIRouter(include_in_schema=False)
widget_router = APIRouter(prefix="/widget/v1/{inbox_token}", tags=["widget"])

LIKERT = ("surveys.likert.1", "surveys.likert.2", "surveys.likert.3", "surveys.likert.4", "surveys.likert.5")


def _locale(request: Request, recipient_language: str) -> str:
    lang = request.query_params.get("lang")
    return normalise(lang) if lang in ("ko", "en") else normalise(recipient_language)


def _page(
    request: Request, name: str, locale: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = render(request, name, context, locale=locale, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token must not leak in a Referer
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def form_answers(survey_questions: list[dict[str, Any]], form) -> dict[str, Any]:
    """The page's form fields (q_<id>) as answers."""
    out: dict[str, Any] = {}
    for q in survey_questions:
        key = f"q_{q['id']}"
        if q["type"] == "multi":
            values = form.getlist(key)
            if values:
                out[q["id"]] = values
        elif (value := form.get(key)) not in (None, ""):
            out[q["id"]] = value
    return out


async def _open(session: AsyncSession, token: str):
    recipient, survey = await service.recipient_by_token(session, token=token)
    return recipient, survey


@router.get("/s/{token}")
async def survey_page(
    token: str, request: Request, session: AsyncSession = Depends(get_session, scope="function")
):
    """The survey's form in the recipient's language (?lang= switches); a thank-you after an answer."""
    await enforce(request, ("widget_read_ip", client_ip(request)))
    try:
        recipient, survey = await _open(session, token)
    except NotFound:
        return _page(request, "surveys/public_gone.html", _locale(request, "ko"), {"missing": True}, 404)
    locale = _locale(request, recipient.language)
    try:
        service.check_open(recipient, survey)
    except service.Expired:
        return _page(request, "surveys/public_gone.html", locale, {"missing": False}, 410)
    previous = await service.answer_of(session, recipient_id=recipient.id)
    return _page(
        request,
        "surveys/public.html",
        locale,
        {
            "survey": survey,
            "questions": [Q.localised(q, locale) for q in survey.questions],
            "previous": previous.answers if previous else {},
            "likert": LIKERT,
            "token": token,
            "done": request.query_params.get("done") == "1",
            "error": None,
        },
    )


@router.post("/s/{token}")
async def survey_submit(
    token: str, request: Request, session: AsyncSession = Depends(get_session, scope="function")
):
    """Store the answer (a second submit changes it) and show the thank-you."""
    await enforce(request, ("widget_read_ip", client_ip(request)))
    try:
        recipient, survey = await _open(session, token)
    except NotFound:
        return _page(request, "surveys/public_gone.html", _locale(request, "ko"), {"missing": True}, 404)
    locale = _locale(request, recipient.language)
    form = await request.form()
    answers = form_answers(survey.questions, form)
    try:
        await service.submit(session, recipient=recipient, survey=survey, answers=answers)
    except service.Expired:
        return _page(request, "surveys/public_gone.html", locale, {"missing": False}, 410)
    except AppError as err:
        return _page(
            request,
            "surveys/public.html",
            locale,
            {
                "survey": survey,
                "questions": [Q.localised(q, locale) for q in survey.questions],
                "previous": answers,
                "likert": LIKERT,
                "token": token,
                "done": False,
                "error": gettext(
                    locale,
                    "surveys.public.error_required"
                    if err.code == "answer_required"
                    else "surveys.public.error_invalid",
                ),
            },
            422,
        )
    await session.commit()
    return _page(request, "surveys/public_thanks.html", locale, {"survey": survey, "token": token})


# ---- the widget's card ---------------------------------------------------------------------


async def _widget_recipient(session: AsyncSession, inbox: Inbox, token: str, visitor: str | None):
    contact_id = read_visitor_token(inbox, visitor)
    recipient, survey = await service.recipient_by_token(session, token=token)
    if recipient.workspace_id != inbox.workspace_id or recipient.contact_id != contact_id:
        raise NotFound("survey not found")
    return recipient, survey


@widget_router.get("/surveys/{token}", dependencies=ReadLimit)
async def widget_survey(
    token: str,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
) -> dict:
    """The survey's questions in the recipient's language, the labels the card needs, and the
    visitor's answer if any (410 survey_expired once the link's time is over)."""
    recipient, survey = await _widget_recipient(session, inbox, token, x_sodam_visitor)
    lang = recipient.language
    try:
        service.check_open(recipient, survey)
    except service.Expired as err:  # the card shows the message as it is
        err.message = gettext(lang, "surveys.card.expired")
        raise
    answer = await service.answer_of(session, recipient_id=recipient.id)
    return {
        "kind": survey.kind,
        "language": lang,
        "questions": [Q.localised(q, lang) for q in survey.questions],
        "answer": answer.answers if answer else None,
        "strings": {
            key.split(".")[-1]: gettext(lang, key)
            for key in (
                "surveys.card.submit",
                "surveys.card.thanks",
                "surveys.card.change",
                "surveys.card.comment",
                "surveys.card.stars",
                "surveys.card.expired",
                "surveys.card.failed",
                "surveys.card.open",
            )
        },
        "url": f"/s/{token}",
    }


@widget_router.post("/surveys/{token}", dependencies=ReadLimit)
async def widget_answer(
    token: str,
    body: AnswerIn,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
) -> dict:
    """Answer from the widget's card; a second answer changes the first."""
    recipient, survey = await _widget_recipient(session, inbox, token, x_sodam_visitor)
    try:
        answer, created = await service.submit(
            session, recipient=recipient, survey=survey, answers=body.answers
        )
    except service.Expired as err:
        err.message = gettext(recipient.language, "surveys.card.expired")
        raise
    return {"id": answer.id, "created": created, "score": answer.score}
