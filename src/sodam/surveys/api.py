"""REST API v1: surveys (supervisor+), sending them to contacts, their answers and summaries,
and the anonymous employee feedback (answer with `work`, aggregates with `feedback.manage`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.errors import Invalid
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.params import IdPath
from sodam.surveys import sends, service, staff
from sodam.surveys.models import SurveySend
from sodam.surveys.schemas import (
    AnswerOut,
    RecipientOut,
    SendIn,
    SendOut,
    StaffAnswerIn,
    SurveyIn,
    SurveyOut,
    SurveyUpdate,
)
from sodam.surveys.summary import summarise

router = APIRouter(prefix="/api/v1", tags=["surveys"])

Reader = Annotated[Principal, Depends(api_access(Permission.surveys_manage, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.surveys_manage, "write"))]
FeedbackReader = Annotated[Principal, Depends(api_access(Permission.feedback_manage, "read"))]
FeedbackWriter = Annotated[Principal, Depends(api_access(Permission.feedback_manage, "write"))]
Agent = Annotated[Principal, Depends(api_access(Permission.work, "write"))]


def recipient_out(r) -> dict:
    return {**{k: getattr(r, k) for k in RecipientOut.model_fields if k != "url"}, "url": f"/s/{r.token}"}


@router.get("/surveys", summary="List customer surveys", response_model=Page[SurveyOut])
async def list_surveys(principal: Reader, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "surveys", {"id": int})["id"] if page.cursor else None
    rows = await service.list_(
        session,
        workspace_id=principal.workspace_id,
        audience="customers",
        after_id=after,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda s: encode_cursor("surveys", {"id": s.id}))
    return {"data": rows, "next_cursor": cursor}


@router.post("/surveys", summary="Create a survey", status_code=201, response_model=SurveyOut)
async def create_survey(body: SurveyIn, principal: Writer, session: ApiSession):
    if body.audience == "agents":
        raise Invalid("internal surveys are created under /api/v1/feedback/surveys", code="invalid_audience")
    survey = await service.create(session, workspace_id=principal.workspace_id, **body.model_dump())
    await session.refresh(survey)
    return survey


@router.get("/surveys/{survey_id}", summary="Get a survey", response_model=SurveyOut)
async def get_survey(survey_id: IdPath, principal: Reader, session: ApiSession):
    return await service.get(
        session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers"
    )


@router.patch("/surveys/{survey_id}", summary="Change a survey", response_model=SurveyOut)
async def update_survey(survey_id: IdPath, body: SurveyUpdate, principal: Writer, session: ApiSession):
    await service.get(session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers")
    survey = await service.update(
        session,
        workspace_id=principal.workspace_id,
        survey_id=survey_id,
        **body.model_dump(exclude_unset=True),
    )
    await session.refresh(survey)
    return survey


@router.delete("/surveys/{survey_id}", summary="Delete a survey and its answers", status_code=204)
async def delete_survey(survey_id: IdPath, principal: Writer, session: ApiSession):
    await service.get(session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers")
    await service.delete(session, workspace_id=principal.workspace_id, survey_id=survey_id)
    return Response(status_code=204)


@router.get(
    "/surveys/{survey_id}/summary",
    summary="A survey's figures",
    description="Counts (sent, answers, response rate, comments); CSAT % (share of 4–5 among scored "
    "answers); NPS = % promoters (9–10) − % detractors (0–6), with the three shares; CES mean; "
    "every question's distribution. An empty survey gives zeros and nulls.",
)
async def survey_summary(survey_id: IdPath, principal: Reader, session: ApiSession) -> dict:
    survey = await service.get(
        session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers"
    )
    return await summarise(session, survey=survey)


@router.get(
    "/surveys/{survey_id}/answers", summary="A survey's answers, newest first", response_model=Page[AnswerOut]
)
async def survey_answers(survey_id: IdPath, principal: Reader, session: ApiSession, page: PageQuery):
    await service.get(session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers")
    before = decode_cursor(page.cursor, "survey_answers", {"id": int})["id"] if page.cursor else None
    rows = await service.answers(
        session,
        workspace_id=principal.workspace_id,
        survey_id=survey_id,
        after_id=before,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda a: encode_cursor("survey_answers", {"id": a.id}))
    return {"data": rows, "next_cursor": cursor}


def send_out(send: SurveySend) -> dict:
    return SendOut.model_validate(send).model_dump(mode="json")


@router.post(
    "/surveys/{survey_id}/send",
    summary="Send a survey to contacts (now or at a time)",
    status_code=201,
    description="To `contact_ids` (at most 1,000) or to a segment's contacts as they are now "
    "(`segment_id`; `segment_empty` for none). Each contact gets their own link (`url`, "
    "`/s/{token}`); a `send_at` in the future opens the link then (a job checks every minute). "
    "A segment of up to 1,000 contacts answers 201 with the invitations; a larger one answers "
    "**202** with a `send` that a job carries out in batches (follow it at "
    "`/surveys/{id}/sends/{send_id}`, read its links at `/surveys/{id}/recipients?send_id=`).",
    responses={202: {"description": 'A large segment: `{"send": {...}}`, invited by a job.'}},
)
async def send_survey(survey_id: IdPath, body: SendIn, principal: Writer, session: ApiSession):
    survey = await service.get(
        session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers"
    )
    if body.segment_id is not None:
        result = await service.invite_segment(
            session,
            survey=survey,
            segment_id=body.segment_id,
            send_at=body.send_at,
            created_by=principal.agent_id,
        )
        if isinstance(result, SurveySend):
            return JSONResponse(
                {"send": send_out(result)},
                status_code=202,
                headers={"Location": f"/api/v1/surveys/{survey.id}/sends/{result.id}"},
            )
        recipients = result
    else:
        recipients = await service.invite_many(
            session, survey=survey, contact_ids=body.contact_ids, send_at=body.send_at
        )
    return {"data": [recipient_out(r) for r in recipients]}


@router.get("/surveys/{survey_id}/sends", summary="A survey's sends to large segments, newest first")
async def list_sends(survey_id: IdPath, principal: Reader, session: ApiSession) -> dict:
    await service.get(session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers")
    rows = await sends.list_(session, workspace_id=principal.workspace_id, survey_id=survey_id)
    return {"data": [send_out(r) for r in rows]}


@router.get(
    "/surveys/{survey_id}/sends/{send_id}",
    summary="A send's progress",
    description="`status` queued → sending → done (or failed with `error`); `invited` of `total`.",
    response_model=SendOut,
)
async def get_send(survey_id: IdPath, send_id: IdPath, principal: Reader, session: ApiSession):
    return await sends.get(session, workspace_id=principal.workspace_id, survey_id=survey_id, send_id=send_id)


@router.get(
    "/surveys/{survey_id}/recipients",
    summary="A survey's invitations and their links, in order",
    description="Optionally one send's (`send_id`). Each `url` is that contact's link.",
    response_model=Page[RecipientOut],
)
async def list_recipients(
    survey_id: IdPath,
    principal: Reader,
    session: ApiSession,
    page: PageQuery,
    send_id: int | None = Query(default=None, ge=1, le=2**63 - 1),
):
    await service.get(session, workspace_id=principal.workspace_id, survey_id=survey_id, audience="customers")
    after = decode_cursor(page.cursor, "survey_recipients", {"id": int})["id"] if page.cursor else None
    rows = await sends.recipients(
        session,
        workspace_id=principal.workspace_id,
        survey_id=survey_id,
        send_id=send_id,
        after_id=after,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda r: encode_cursor("survey_recipients", {"id": r.id}))
    return {"data": [recipient_out(r) for r in rows], "next_cursor": cursor}


# ---- employee feedback ----------------------------------------------------------------------


@router.get("/feedback/surveys", summary="List internal (employee) surveys", response_model=Page[SurveyOut])
async def list_staff_surveys(principal: FeedbackReader, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "feedback_surveys", {"id": int})["id"] if page.cursor else None
    rows = await service.list_(
        session, workspace_id=principal.workspace_id, audience="agents", after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda s: encode_cursor("feedback_surveys", {"id": s.id}))
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "/feedback/surveys", summary="Create an internal survey", status_code=201, response_model=SurveyOut
)
async def create_staff_survey(body: SurveyIn, principal: FeedbackWriter, session: ApiSession):
    fields = body.model_dump() | {"audience": "agents", "on_resolve_inbox_ids": [], "escalate": False}
    survey = await service.create(session, workspace_id=principal.workspace_id, **fields)
    await session.refresh(survey)
    return survey


@router.get(
    "/feedback/surveys/{survey_id}/results",
    summary="An internal survey's aggregates",
    description="Counts per value and means; open texts shuffled; nothing until 3 answers exist.",
)
async def staff_results(survey_id: IdPath, principal: FeedbackReader, session: ApiSession) -> dict:
    return await staff.results(session, workspace_id=principal.workspace_id, survey_id=survey_id)


@router.post(
    "/feedback/surveys/{survey_id}/answer",
    summary="Answer an internal survey anonymously",
    status_code=204,
    responses={409: {"description": "Already answered (`already_answered`)."}},
)
async def staff_answer(survey_id: IdPath, body: StaffAnswerIn, principal: Agent, session: ApiSession):
    await staff.answer(
        session,
        workspace_id=principal.workspace_id,
        survey_id=survey_id,
        agent_id=principal.agent_id,
        answers=body.answers,
    )
    return Response(status_code=204)


@router.get("/feedback/open", summary="Internal surveys to answer (and whether you have)")
async def staff_open(
    principal: Annotated[Principal, Depends(api_access(Permission.work, "read"))],
    session: ApiSession,
    include_answered: bool = Query(default=True),
) -> dict:
    rows = await staff.open_surveys(session, workspace_id=principal.workspace_id, agent_id=principal.agent_id)
    return {
        "data": [
            {"id": s.id, "name": s.name, "questions": s.questions, "answered": done}
            for s, done in rows
            if include_answered or not done
        ]
    }
