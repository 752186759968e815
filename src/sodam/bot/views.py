"""Console: the bot's learning queue (봇 학습) for 매니저 — accept or reject what agents'
answers to handed-off questions could teach the knowledge base.

Accept / Reject are htmx posts (the console's CSRF header) that swap the row; without
JavaScript the same forms post and redirect back to the list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.bot import learning
from sodam.core.errors import AppError, Conflict, NotFound
from sodam.core.pagination import MAX_ID
from sodam.knowledge import service as knowledge

router = APIRouter(prefix="/console/bot", include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 100
# The review queue changes the knowledge base: bot.review (admins and supervisors, 매니저).
review_proposals = console_access(Permission.bot_review)


async def _rows(ctx: Console, proposals) -> list[dict]:
    """Each proposal with its target article's title and the answering agent's name."""
    agents = {a.id: a.name for a in await accounts.list_agents(ctx.session, workspace_id=ctx.workspace_id)}
    rows = []
    for p in proposals:
        article = None
        if p.article_id is not None:
            try:
                article = await knowledge.get_article(
                    ctx.session, workspace_id=ctx.workspace_id, article_id=p.article_id
                )
            except NotFound:
                article = None
        rows.append({"p": p, "article": article, "agent_name": agents.get(p.agent_id or 0)})
    return rows


@router.get("/proposals")
async def proposals_page(
    ctx: Console = Depends(review_proposals),
    status: Annotated[str, Query(pattern="^(pending|accepted|rejected)$")] = "pending",
):
    """Pending proposals, newest first (or the decided ones, for the record)."""
    proposals = await learning.list_proposals(
        ctx.session, workspace_id=ctx.workspace_id, status=status, limit=PAGE_SIZE
    )
    return ctx.render(
        "bot/proposals.html",
        {
            "section": "bot",
            "status": status,
            "rows": await _rows(ctx, proposals),
            "bot_pending_count": await learning.pending_count(ctx.session, workspace_id=ctx.workspace_id),
        },
    )


@router.get("/proposals/count")
async def pending_badge(ctx: Console = Depends(review_proposals)):
    """The rail's pending count (loaded by htmx for reviewers only; empty when nothing waits)."""
    count = await learning.pending_count(ctx.session, workspace_id=ctx.workspace_id)
    return HTMLResponse(f"{count}" if count else "")


async def _decide(ctx: Console, proposal_id: int, *, accept: bool):
    try:
        proposal = await learning.decide(
            ctx.session,
            workspace_id=ctx.workspace_id,
            proposal_id=proposal_id,
            accept=accept,
            decided_by=ctx.agent.id,
        )
    except Conflict as exc:
        key = f"bot_console.error.{exc.code}"
        text = ctx.t(key)
        raise Conflict(text if text != key else ctx.t("bot_console.error.generic"), code=exc.code) from exc
    except AppError as exc:
        if exc.status_code in (403, 404):
            raise
        key = f"kb.error.{exc.code}"
        text = ctx.t(key)
        raise AppError(
            text if text != key else ctx.t("bot_console.error.generic"),
            code=exc.code,
            status_code=exc.status_code,
        ) from exc
    if not ctx.is_htmx:
        return RedirectResponse("/console/bot/proposals", status_code=303)
    (row,) = await _rows(ctx, [proposal])
    # The row, and the pending counts (the "대기 중 (N)" tab, the rail's badge) out of band.
    pending = await learning.pending_count(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render("bot/_proposal.html", {"row": row, "oob_pending_count": pending})


@router.post("/proposals/{proposal_id}/accept")
async def accept(proposal_id: Id, ctx: Console = Depends(review_proposals)):
    """Apply the proposal to the knowledge base (a draft opens in the editor from the row)."""
    return await _decide(ctx, proposal_id, accept=True)


@router.post("/proposals/{proposal_id}/reject")
async def reject(proposal_id: Id, ctx: Console = Depends(review_proposals)):
    return await _decide(ctx, proposal_id, accept=False)
