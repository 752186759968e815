"""REST API v1: the training sandbox. Practising, one's own attempts, badges and the leaderboard
need `work`; building and deleting scenarios, everyone's attempts and reviews need
`training.manage`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission, allows
from sodam.core.deps import Principal
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.params import IdPath
from sodam.training import board, service
from sodam.training.models import TrainingAttempt, TrainingScenario
from sodam.training.schemas import AttemptIn, AttemptOut, FinishIn, ReplyIn, ReviewIn, ScenarioIn, ScenarioOut

router = APIRouter(prefix="/api/v1/training", tags=["training"])

Reader = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
Trainee = Annotated[Principal, Depends(api_access(Permission.work, "write"))]
Manager = Annotated[Principal, Depends(api_access(Permission.training_manage, "write"))]


def _manages(principal: Principal) -> bool:
    return allows(principal.role, Permission.training_manage)


def scenario_out(scenario: TrainingScenario, *, reveal: bool) -> dict:
    customer = sum(1 for m in scenario.messages if m.get("role") == "customer")
    out = ScenarioOut.model_validate(
        {
            **{
                k: getattr(scenario, k)
                for k in ScenarioOut.model_fields
                if k not in ("customer_messages", "messages")
            },
            "customer_messages": customer,
            "messages": scenario.messages if reveal else None,
        }
    )
    return out.model_dump(mode="json")


async def attempt_out(session, attempt: TrainingAttempt, *, with_playback: bool = False) -> dict:
    out = AttemptOut.model_validate(attempt).model_dump(mode="json")
    if with_playback:
        scenario = await service.get_scenario(
            session, workspace_id=attempt.workspace_id, scenario_id=attempt.scenario_id
        )
        out["playback"] = service.playback(
            scenario, attempt, await service.replies_of(session, attempt_id=attempt.id)
        )
    return out


@router.get("/scenarios", summary="List training scenarios", response_model=Page[ScenarioOut])
async def list_scenarios(principal: Reader, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "training_scenarios", {"id": int})["id"] if page.cursor else None
    rows = await service.list_scenarios(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda s: encode_cursor("training_scenarios", {"id": s.id}))
    return {"data": [scenario_out(s, reveal=False) for s in rows], "next_cursor": cursor}


@router.post(
    "/scenarios",
    summary="Build a scenario from a resolved conversation",
    description="Copies the conversation's customer, agent and bot messages, anonymised (names, e-mails, "
    "phone numbers, addresses, order and card numbers replaced consistently), with the original's first "
    "reply time, linked help-center articles and CSAT. Only the anonymised copy is stored.",
    status_code=201,
    responses={
        404: {"description": "No such conversation in this workspace."},
        409: {"description": "The conversation is a scenario already (`scenario_exists`)."},
        422: {"description": "`not_resolved`, `conversation_redacted`, `no_customer_messages`."},
    },
)
async def create_scenario(body: ScenarioIn, principal: Manager, session: ApiSession) -> dict:
    scenario = await service.create_scenario(
        session,
        workspace_id=principal.workspace_id,
        conversation_id=body.conversation_id,
        created_by=principal.agent_id,
    )
    await session.refresh(scenario)
    return scenario_out(scenario, reveal=True)


@router.get(
    "/scenarios/{scenario_id}",
    summary="Get a scenario",
    description="`messages` (the original's whole anonymised transcript) only for a 매니저 or a trainee who "
    "finished a practice of it; else null.",
)
async def get_scenario(scenario_id: IdPath, principal: Reader, session: ApiSession) -> dict:
    scenario = await service.get_scenario(
        session, workspace_id=principal.workspace_id, scenario_id=scenario_id
    )
    reveal = _manages(principal) or bool(
        await service.list_attempts(
            session,
            workspace_id=principal.workspace_id,
            agent_id=principal.agent_id,
            scenario_id=scenario.id,
            finished=True,
            limit=1,
        )
    )
    return scenario_out(scenario, reveal=reveal)


@router.delete("/scenarios/{scenario_id}", summary="Delete a scenario and its practices", status_code=204)
async def delete_scenario(scenario_id: IdPath, principal: Manager, session: ApiSession):
    await service.delete_scenario(session, workspace_id=principal.workspace_id, scenario_id=scenario_id)
    return Response(status_code=204)


@router.post(
    "/scenarios/{scenario_id}/attempts",
    summary="Start practising a scenario",
    description="The customer's messages are then due at their original pace (÷ `speed`); read them with "
    "GET /training/attempts/{id}. Nothing is ever sent to a customer or a channel.",
    status_code=201,
)
async def start_attempt(
    scenario_id: IdPath, body: AttemptIn, principal: Trainee, session: ApiSession
) -> dict:
    attempt = await service.start_attempt(
        session,
        workspace_id=principal.workspace_id,
        scenario_id=scenario_id,
        agent_id=principal.agent_id,
        speed=body.speed,
    )
    return await attempt_out(session, attempt, with_playback=True)


@router.get(
    "/attempts",
    summary="List practices",
    description="One's own; a 매니저 sees everyone's (`agent_id` filters, `reviewed=false` lists those to review).",
    response_model=Page[AttemptOut],
)
async def list_attempts(
    principal: Reader,
    session: ApiSession,
    page: PageQuery,
    agent_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    reviewed: bool | None = None,
):
    after = decode_cursor(page.cursor, "training_attempts", {"id": int})["id"] if page.cursor else None
    who = agent_id if _manages(principal) else principal.agent_id
    rows = await service.list_attempts(
        session,
        workspace_id=principal.workspace_id,
        agent_id=who,
        reviewed=reviewed,
        finished=True if reviewed is not None else None,
        after_id=after,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda a: encode_cursor("training_attempts", {"id": a.id}))
    return {"data": rows, "next_cursor": cursor}


@router.get(
    "/attempts/{attempt_id}",
    summary="A practice and what the trainee sees now",
    description="`playback.items`: the customer messages due so far and the trainee's replies; "
    "`playback.next_due_ms`: when the next customer message is due (null: all shown or finished).",
)
async def get_attempt(attempt_id: IdPath, principal: Reader, session: ApiSession) -> dict:
    attempt = await service.get_attempt(
        session,
        workspace_id=principal.workspace_id,
        attempt_id=attempt_id,
        agent_id=principal.agent_id,
        can_manage=_manages(principal),
    )
    return await attempt_out(session, attempt, with_playback=True)


@router.post(
    "/attempts/{attempt_id}/replies",
    summary="Reply in a practice",
    status_code=201,
    responses={409: {"description": "`attempt_finished`, `too_many_replies`."}},
)
async def reply(attempt_id: IdPath, body: ReplyIn, principal: Trainee, session: ApiSession) -> dict:
    row = await service.add_reply(
        session,
        workspace_id=principal.workspace_id,
        attempt_id=attempt_id,
        agent_id=principal.agent_id,
        content=body.content,
    )
    return {"id": row.id, "content": row.content, "at_ms": row.at_ms}


@router.post(
    "/attempts/{attempt_id}/finish",
    summary="End a practice (resolved or not) and score it",
    description="The score (0–100) and its parts: first reply time against the original's, the original's "
    "article linked, marked resolved, the original CSAT (shown, not scored); `badges` newly earned.",
)
async def finish(attempt_id: IdPath, body: FinishIn, principal: Trainee, session: ApiSession) -> dict:
    attempt, badges = await service.finish(
        session,
        workspace_id=principal.workspace_id,
        attempt_id=attempt_id,
        agent_id=principal.agent_id,
        resolved=body.resolved,
    )
    return {**(await attempt_out(session, attempt)), "badges": badges}


@router.post(
    "/attempts/{attempt_id}/review",
    summary="Review a finished practice",
    responses={409: {"description": "`attempt_not_finished`."}, 422: {"description": "`empty_review`."}},
)
async def review(attempt_id: IdPath, body: ReviewIn, principal: Manager, session: ApiSession) -> dict:
    attempt = await service.review(
        session,
        workspace_id=principal.workspace_id,
        attempt_id=attempt_id,
        reviewer_id=principal.agent_id,
        comment=body.comment,
        praise=body.praise,
    )
    return await attempt_out(session, attempt)


@router.get(
    "/leaderboard",
    summary="The workspace's training leaderboard",
    description="Per trainee over `period` (week: 7 days, month: 30 days, all): finished practices, resolved, "
    "average and best score, points (the sum of each scenario's best score) and badges.",
)
async def leaderboard(
    principal: Reader, session: ApiSession, period: Literal["week", "month", "all"] = "week"
) -> dict:
    rows = await board.leaderboard(session, workspace_id=principal.workspace_id, period=period)
    return {"period": period, "data": rows}


@router.get("/badges", summary="My badges")
async def badges(principal: Reader, session: ApiSession) -> dict:
    held = await service.badges_of(session, workspace_id=principal.workspace_id, agent_id=principal.agent_id)
    return {"agent_id": principal.agent_id, "badges": held}
