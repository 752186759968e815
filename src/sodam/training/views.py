"""Console: 연습 (training sandbox) — the scenarios list, the practice screen (looks like a
conversation; the customer's side is played back by console-training.js from the feed), the
attempt's score and review, and the leaderboard. Every agent practises (`work`); building
scenarios and reviewing need `training.manage`. CSRF on every POST."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.core.errors import AppError
from sodam.core.params import IdPath
from sodam.knowledge import service as knowledge
from sodam.training import board, service
from sodam.training.models import BADGES
from sodam.training.schemas import ReplyIn

router = APIRouter(prefix="/console/training", include_in_schema=False)
Agent = Depends(console)
Manager = Depends(console_access(Permission.training_manage))
PERIODS = ("week", "month", "all")


def _seconds(ms: int | None) -> str:
    if ms is None:
        return "–"
    seconds = ms / 1000
    return f"{seconds:.0f}s" if seconds < 60 else f"{int(seconds // 60)}m {int(seconds % 60):02d}s"


def part_lines(ctx: Console, parts: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Each score part with its explanation in the agent's language."""
    lines = []
    for part in parts or []:
        key = part["key"]
        if key == "first_reply":
            if part["trainee_ms"] is None:
                text = ctx.t("training.part.first_reply.none")
            elif part["original_ms"] is None:
                text = ctx.t("training.part.first_reply.no_original", trainee=_seconds(part["trainee_ms"]))
            else:
                text = ctx.t(
                    "training.part.first_reply.text",
                    trainee=_seconds(part["trainee_ms"]),
                    original=_seconds(part["original_ms"]),
                )
            label = ctx.t("training.part.first_reply")
        elif key == "article":
            label = ctx.t("training.part.article")
            if part["max"] is None:
                text = ctx.t("training.part.article.none")
            elif part["used_ids"]:
                text = ctx.t("training.part.article.used", ids=", ".join(f"#{i}" for i in part["used_ids"]))
            else:
                text = ctx.t(
                    "training.part.article.missed", ids=", ".join(f"#{i}" for i in part["original_ids"])
                )
        elif key == "resolved":
            label = ctx.t("training.part.resolved")
            text = ctx.t("training.part.resolved.yes" if part["resolved"] else "training.part.resolved.no")
        else:
            label = ctx.t("training.part.csat")
            csat = part.get("original_csat")
            text = ctx.t("training.part.csat.text", score=csat) if csat else ctx.t("training.part.csat.none")
        lines.append({"key": key, "label": label, "text": text, "points": part["points"], "max": part["max"]})
    return lines


def badge_labels(ctx: Console) -> dict[str, str]:
    return {
        "first_practice": ctx.t("training.badge.first_practice"),
        "fast_reply": ctx.t("training.badge.fast_reply"),
        "five_resolved": ctx.t("training.badge.five_resolved"),
        "praised": ctx.t("training.badge.praised"),
    }


async def _names(ctx: Console) -> dict[int, str]:
    return {a.id: a.name for a in await accounts.list_agents(ctx.session, workspace_id=ctx.workspace_id)}


@router.get("")
async def scenarios_page(ctx: Console = Agent):
    """Scenarios to practise, my practices and badges; for a 매니저 the practices to review."""
    ws, me = ctx.workspace_id, ctx.agent.id
    scenarios = await service.list_scenarios(ctx.session, workspace_id=ws, limit=200)
    counts = await service.attempt_counts(
        ctx.session, workspace_id=ws, scenario_ids=[s.id for s in scenarios]
    )
    mine = await service.list_attempts(ctx.session, workspace_id=ws, agent_id=me, limit=20)
    manages = ctx.can(Permission.training_manage)
    to_review = (
        await service.list_attempts(ctx.session, workspace_id=ws, finished=True, reviewed=False, limit=50)
        if manages
        else []
    )
    titles = {s.id: s.title for s in scenarios}
    return ctx.render(
        "training/list.html",
        {
            "section": "training",
            "scenarios": scenarios,
            "counts": counts,
            "mine": mine,
            "to_review": to_review,
            "titles": titles,
            "names": await _names(ctx) if manages else {},
            "badges": await service.badges_of(ctx.session, workspace_id=ws, agent_id=me),
            "badge_labels": badge_labels(ctx),
            "all_badges": BADGES,
            "saved": ctx.request.query_params.get("saved"),
            "error": ctx.request.query_params.get("error"),
            "seconds": _seconds,
        },
    )


@router.post("/scenarios")
async def create_scenario(conversation_id: Annotated[str, Form()] = "", ctx: Console = Manager):
    """Build a scenario from a resolved conversation (the button on it); back to the list."""
    if not conversation_id.strip().isdigit() or len(conversation_id) > 18:
        return RedirectResponse("/console/training?error=not_found", status_code=303)
    try:
        scenario = await service.create_scenario(
            ctx.session,
            workspace_id=ctx.workspace_id,
            conversation_id=int(conversation_id),
            created_by=ctx.agent.id,
        )
    except AppError as exc:
        if exc.code == "scenario_exists":
            return RedirectResponse(f"/console/training?saved={exc.details['scenario_id']}", status_code=303)
        return RedirectResponse(f"/console/training?error={exc.code}", status_code=303)
    return RedirectResponse(f"/console/training?saved={scenario.id}", status_code=303)


@router.post("/scenarios/{scenario_id}/delete")
async def delete_scenario(scenario_id: IdPath, ctx: Console = Manager):
    await service.delete_scenario(ctx.session, workspace_id=ctx.workspace_id, scenario_id=scenario_id)
    return RedirectResponse("/console/training", status_code=303)


@router.post("/scenarios/{scenario_id}/start")
async def start(scenario_id: IdPath, speed: Annotated[str, Form()] = "1", ctx: Console = Agent):
    """Start a practice and open its screen."""
    attempt = await service.start_attempt(
        ctx.session,
        workspace_id=ctx.workspace_id,
        scenario_id=scenario_id,
        agent_id=ctx.agent.id,
        speed=int(speed) if speed in ("1", "2", "4") else 0,
    )
    return RedirectResponse(f"/console/training/attempts/{attempt.id}", status_code=303)


async def _attempt(ctx: Console, attempt_id: int):
    return await service.get_attempt(
        ctx.session,
        workspace_id=ctx.workspace_id,
        attempt_id=attempt_id,
        agent_id=ctx.agent.id,
        can_manage=ctx.can(Permission.training_manage),
    )


@router.get("/attempts/{attempt_id}")
async def attempt_page(attempt_id: IdPath, ctx: Console = Agent):
    """The practice screen (while playing) or the attempt's score and review (finished)."""
    attempt = await _attempt(ctx, attempt_id)
    scenario = await service.get_scenario(
        ctx.session, workspace_id=ctx.workspace_id, scenario_id=attempt.scenario_id
    )
    replies = await service.replies_of(ctx.session, attempt_id=attempt.id)
    state = service.playback(scenario, attempt, replies)
    articles = []
    if attempt.finished_at is None:
        workspace = await accounts.get_workspace(ctx.session, workspace_id=ctx.workspace_id)
        base = f"/help/{workspace.slug}/articles/"
        rows = await knowledge.list_articles(
            ctx.session, workspace_id=ctx.workspace_id, status="published", limit=200
        )
        articles = [
            {"title": a.title, "url": f"{ctx.request.base_url}".rstrip("/") + base + str(a.id)} for a in rows
        ]
    names = await _names(ctx)
    return ctx.render(
        "training/attempt.html",
        {
            "section": "training",
            "attempt": attempt,
            "scenario": scenario,
            "state": state,
            "articles": articles,
            "parts": part_lines(ctx, attempt.parts),
            "trainee_name": names.get(attempt.agent_id, ""),
            "reviewer_name": names.get(attempt.reviewed_by or 0, ""),
            "own": attempt.agent_id == ctx.agent.id,
            "badge_labels": badge_labels(ctx),
            "new_badges": [b for b in ctx.request.query_params.get("badges", "").split(",") if b in BADGES],
            "seconds": _seconds,
        },
    )


@router.get("/attempts/{attempt_id}/feed")
async def feed(attempt_id: IdPath, ctx: Console = Agent) -> dict:
    """What the practice screen shows now (console-training.js polls it at the next due time)."""
    attempt = await _attempt(ctx, attempt_id)
    scenario = await service.get_scenario(
        ctx.session, workspace_id=ctx.workspace_id, scenario_id=attempt.scenario_id
    )
    state = service.playback(scenario, attempt, await service.replies_of(ctx.session, attempt_id=attempt.id))
    return {**state, "finished": attempt.finished_at is not None}


@router.post("/attempts/{attempt_id}/replies")
async def reply(attempt_id: IdPath, body: ReplyIn, ctx: Console = Agent):
    row = await service.add_reply(
        ctx.session,
        workspace_id=ctx.workspace_id,
        attempt_id=attempt_id,
        agent_id=ctx.agent.id,
        content=body.content,
    )
    return JSONResponse({"id": row.id, "content": row.content, "at_ms": row.at_ms}, status_code=201)


@router.post("/attempts/{attempt_id}/finish")
async def finish(attempt_id: IdPath, resolved: Annotated[str, Form()] = "", ctx: Console = Agent):
    _attempt_row, badges = await service.finish(
        ctx.session,
        workspace_id=ctx.workspace_id,
        attempt_id=attempt_id,
        agent_id=ctx.agent.id,
        resolved=resolved == "1",
    )
    suffix = f"?badges={','.join(badges)}" if badges else ""
    return RedirectResponse(f"/console/training/attempts/{attempt_id}{suffix}", status_code=303)


@router.post("/attempts/{attempt_id}/review")
async def review(
    attempt_id: IdPath,
    comment: Annotated[str, Form(max_length=4000)] = "",
    praise: Annotated[str, Form()] = "",
    ctx: Console = Manager,
):
    await service.review(
        ctx.session,
        workspace_id=ctx.workspace_id,
        attempt_id=attempt_id,
        reviewer_id=ctx.agent.id,
        comment=comment,
        praise=praise == "on",
    )
    return RedirectResponse(f"/console/training/attempts/{attempt_id}?reviewed=1", status_code=303)


@router.get("/leaderboard")
async def leaderboard_page(request: Request, ctx: Console = Agent):
    period = request.query_params.get("period", "week")
    period = period if period in PERIODS else "week"
    rows = await board.leaderboard(ctx.session, workspace_id=ctx.workspace_id, period=period)
    return ctx.render(
        "training/leaderboard.html",
        {
            "section": "training",
            "rows": rows,
            "period": period,
            "periods": PERIODS,
            "badge_labels": badge_labels(ctx),
        },
    )
