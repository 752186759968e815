"""The training leaderboard of a workspace by period: per trainee, the finished practices, how
many were marked resolved, the average and best score, and points — the sum over scenarios of
the trainee's best score in the period (practising many scenarios counts; replaying one
scenario a hundred times does not) — with their badges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Agent
from sodam.training import clock
from sodam.training.models import TrainingAttempt, TrainingBadge

PERIODS = {"week": timedelta(days=7), "month": timedelta(days=30), "all": None}


async def leaderboard(
    session: AsyncSession, *, workspace_id: int, period: str, limit: int = 50
) -> list[dict[str, Any]]:
    """Rows by points, then average score, then name."""
    span = PERIODS[period]
    where = [TrainingAttempt.workspace_id == workspace_id, TrainingAttempt.finished_at.is_not(None)]
    if span is not None:
        where.append(TrainingAttempt.finished_at >= clock.now() - span)
    best = (
        select(
            TrainingAttempt.agent_id.label("agent_id"),
            func.max(TrainingAttempt.score).label("best"),
        )
        .where(*where)
        .group_by(TrainingAttempt.agent_id, TrainingAttempt.scenario_id)
        .subquery()
    )
    points = (
        select(best.c.agent_id, func.sum(best.c.best).label("points"), func.count().label("scenarios"))
        .group_by(best.c.agent_id)
        .subquery()
    )
    stats = (
        select(
            TrainingAttempt.agent_id.label("agent_id"),
            func.count().label("attempts"),
            func.count().filter(TrainingAttempt.resolved).label("resolved"),
            func.avg(TrainingAttempt.score).label("average"),
            func.max(TrainingAttempt.score).label("best"),
        )
        .where(*where)
        .group_by(TrainingAttempt.agent_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                Agent.id,
                Agent.name,
                stats.c.attempts,
                stats.c.resolved,
                stats.c.average,
                stats.c.best,
                points.c.points,
                points.c.scenarios,
            )
            .join(stats, stats.c.agent_id == Agent.id)
            .join(points, points.c.agent_id == Agent.id)
            .where(Agent.workspace_id == workspace_id)
            .order_by(points.c.points.desc(), stats.c.average.desc(), Agent.name, Agent.id)
            .limit(limit)
        )
    ).all()
    badges: dict[int, list[str]] = {}
    if rows:
        for agent_id, badge in await session.execute(
            select(TrainingBadge.agent_id, TrainingBadge.badge)
            .where(
                TrainingBadge.workspace_id == workspace_id, TrainingBadge.agent_id.in_([r[0] for r in rows])
            )
            .order_by(TrainingBadge.awarded_at, TrainingBadge.id)
        ):
            badges.setdefault(agent_id, []).append(badge)
    return [
        {
            "rank": rank,
            "agent_id": r.id,
            "name": r.name,
            "attempts": r.attempts,
            "resolved": r.resolved,
            "average_score": round(float(r.average or 0), 1),
            "best_score": r.best,
            "points": int(r.points or 0),
            "scenarios": r.scenarios,
            "badges": badges.get(r.id, []),
        }
        for rank, r in enumerate(rows, start=1)
    ]
