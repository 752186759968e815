"""Console: the surveys (매니저: list with figures, one survey's answers and comments, a new
CSAT / NPS / CES survey) and the anonymous employee feedback (every agent answers; the admin
sees aggregates only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.channels import service as inboxes
from sodam.core.errors import AppError
from sodam.core.params import IdPath
from sodam.surveys import questions as Q
from sodam.surveys import service, staff
from sodam.surveys.public import LIKERT, form_answers
from sodam.surveys.summary import summarise

router = APIRouter(prefix="/console", include_in_schema=False)
Manager = Depends(console_access(Permission.surveys_manage))
FeedbackManager = Depends(console_access(Permission.feedback_manage))


@router.get("/surveys")
async def surveys_page(ctx: Console = Manager):
    """Every customer survey with its headline figures."""
    rows = await service.list_(ctx.session, workspace_id=ctx.workspace_id, audience="customers")
    items = [{"survey": s, "summary": await summarise(ctx.session, survey=s)} for s in rows]
    all_inboxes = await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "surveys/list.html",
        {
            "section": "surveys",
            "items": items,
            "inboxes": all_inboxes,
            "created": ctx.request.query_params.get("created"),
        },
    )


@router.post("/surveys")
async def create_survey(request: Request, ctx: Console = Manager):
    """A CSAT, NPS or CES survey with the default questions, sent on resolution in the ticked inboxes."""
    form = await request.form()
    kind = str(form.get("kind") or "csat")
    threshold = str(form.get("escalate_at") or "").strip()
    survey = await service.create(
        ctx.session,
        workspace_id=ctx.workspace_id,
        name=str(form.get("name") or "").strip() or kind.upper(),
        kind=kind if kind in Q.DEFAULT_QUESTIONS else "csat",
        on_resolve_inbox_ids=[int(v) for v in form.getlist("inbox") if str(v).isdigit()],
        escalate_at=int(threshold) if threshold.isdigit() else None,
    )
    await ctx.session.commit()
    return RedirectResponse(f"/console/surveys?created={survey.id}", status_code=303)


@router.get("/surveys/{survey_id}")
async def survey_page(
    survey_id: IdPath, before: int | None = Query(default=None, ge=1), ctx: Console = Manager
):
    """One survey: its figures, distributions, and the answers with their comments."""
    survey = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, survey_id=survey_id, audience="customers"
    )
    answers = await service.answers(
        ctx.session, workspace_id=ctx.workspace_id, survey_id=survey.id, after_id=before, limit=51
    )
    more = answers[50].id if len(answers) > 50 else None
    if more:
        answers = answers[:50]
        more = answers[-1].id
    return ctx.render(
        "surveys/detail.html",
        {
            "section": "surveys",
            "survey": survey,
            "summary": await summarise(ctx.session, survey=survey),
            "questions": [Q.localised(q, ctx.locale) for q in survey.questions],
            "answers": answers,
            "more": more,
        },
    )


# ---- employee feedback ----------------------------------------------------------------------


@router.get("/feedback")
async def feedback_page(ctx: Console = Depends(console)):
    """The internal surveys to answer (anonymously); admins also create them and see results."""
    rows = await staff.open_surveys(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    return ctx.render(
        "surveys/feedback.html",
        {
            "section": "feedback",
            "items": [
                {
                    "survey": s,
                    "answered": done,
                    "questions": [Q.localised(q, ctx.locale) for q in s.questions],
                }
                for s, done in rows
            ],
            "likert": LIKERT,
            "thanks": ctx.request.query_params.get("thanks"),
            "error": None,
        },
    )


@router.post("/feedback/{survey_id}")
async def feedback_answer(survey_id: IdPath, request: Request, ctx: Console = Depends(console)):
    survey = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, survey_id=survey_id, audience="agents"
    )
    form = await request.form()
    try:
        await staff.answer(
            ctx.session,
            workspace_id=ctx.workspace_id,
            survey_id=survey.id,
            agent_id=ctx.agent.id,
            answers=form_answers(survey.questions, form),
        )
    except AppError as err:
        if err.status_code == 409:
            return RedirectResponse("/console/feedback?thanks=1", status_code=303)
        raise
    await ctx.session.commit()
    return RedirectResponse("/console/feedback?thanks=1", status_code=303)


@router.post("/feedback")
async def feedback_create(request: Request, ctx: Console = FeedbackManager):
    """A quick internal survey: one Likert statement per line, plus an open question."""
    form = await request.form()
    lines = [line.strip() for line in str(form.get("statements") or "").splitlines() if line.strip()][:20]
    questions = [{"id": f"q{i + 1}", "type": "likert", "text": line} for i, line in enumerate(lines)]
    questions.append(
        {
            "id": "comment",
            "type": "text",
            "required": False,
            "text": {
                "ko": "하고 싶은 말씀을 자유롭게 적어 주세요.",
                "en": "Anything else you would like to say?",
            },
        }
    )
    await service.create(
        ctx.session,
        workspace_id=ctx.workspace_id,
        name=str(form.get("name") or "").strip() or ctx.t("surveys.feedback.title"),
        kind="custom",
        audience="agents",
        questions=questions,
        escalate=False,
    )
    await ctx.session.commit()
    return RedirectResponse("/console/feedback", status_code=303)


@router.get("/feedback/{survey_id}/results")
async def feedback_results(survey_id: IdPath, ctx: Console = FeedbackManager):
    """Aggregates only, nothing under the minimum group size."""
    survey = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, survey_id=survey_id, audience="agents"
    )
    results = await staff.results(ctx.session, workspace_id=ctx.workspace_id, survey_id=survey.id)
    texts = {q["id"]: Q.localised(q, ctx.locale) for q in survey.questions}
    return ctx.render(
        "surveys/feedback_results.html",
        {"section": "feedback", "survey": survey, "results": results, "texts": texts, "likert": LIKERT},
    )
