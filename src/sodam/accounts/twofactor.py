"""Two-factor sign-in for agents: enrolment with an authenticator app (TOTP), one-time
recovery codes, verification with replay protection, and turning it off."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import totp
from sodam.accounts.models import Agent, AgentRecoveryCode
from sodam.core.errors import Conflict, Invalid


def _wrong_code() -> Invalid:
    return Invalid("the code is not right: try the newest code from your app", code="invalid_code")


async def begin_enrolment(session: AsyncSession, *, agent: Agent) -> str:
    """A fresh secret for the agent to add to an app (not active until confirmed)."""
    if agent.has_two_factor:
        raise Conflict("two-factor sign-in is already on", code="two_factor_enabled")
    agent.totp_secret = totp.new_secret()
    await session.flush()
    return agent.totp_secret


async def confirm_enrolment(session: AsyncSession, *, agent: Agent, code: str) -> list[str]:
    """Turn two-factor sign-in on with a first code from the app; returns new recovery codes."""
    if agent.has_two_factor:
        raise Conflict("two-factor sign-in is already on", code="two_factor_enabled")
    if not agent.totp_secret:
        raise Invalid("start the set-up first", code="enrolment_not_started")
    step = totp.matching_step(agent.totp_secret, code)
    if step is None:
        raise _wrong_code()
    agent.totp_enabled_at = datetime.now(UTC)
    agent.totp_last_step = step
    codes = await _replace_recovery_codes(session, agent=agent)
    await session.flush()
    return codes


async def verify(session: AsyncSession, *, agent: Agent, code: str) -> str | None:
    """'totp' or 'recovery' when the code signs the agent in (a TOTP code once, a recovery
    code once), else None."""
    if not agent.has_two_factor or not agent.totp_secret:
        return None
    step = totp.matching_step(agent.totp_secret, code)
    if step is not None:
        # Atomic: two requests racing with the same code cannot both pass.
        accepted = await session.execute(
            update(Agent)
            .where(
                Agent.id == agent.id,
                (Agent.totp_last_step.is_(None)) | (Agent.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return "totp" if accepted.rowcount == 1 else None
    used = await session.execute(
        update(AgentRecoveryCode)
        .where(
            AgentRecoveryCode.agent_id == agent.id,
            AgentRecoveryCode.code_hash == totp.recovery_code_hash(code),
            AgentRecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
    )
    return "recovery" if used.rowcount == 1 else None


async def remaining_recovery_codes(session: AsyncSession, *, agent: Agent) -> int:
    """How many recovery codes the agent has left."""
    return await session.scalar(
        select(func.count()).where(
            AgentRecoveryCode.agent_id == agent.id, AgentRecoveryCode.used_at.is_(None)
        )
    )


async def regenerate_recovery_codes(session: AsyncSession, *, agent: Agent, code: str) -> list[str]:
    """New recovery codes (the old ones stop working); needs a current code."""
    if await verify(session, agent=agent, code=code) is None:
        raise _wrong_code()
    return await _replace_recovery_codes(session, agent=agent)


async def disable(session: AsyncSession, *, agent: Agent, code: str, required: bool) -> None:
    """Turn two-factor sign-in off with a current code; refused where the workspace requires it."""
    if required:
        raise Conflict("this workspace requires two-factor sign-in", code="two_factor_required")
    if await verify(session, agent=agent, code=code) is None:
        raise _wrong_code()
    await reset(session, agent=agent)


async def reset(session: AsyncSession, *, agent: Agent) -> None:
    """Remove the agent's second factor (an admin's help for a lost phone, or disable)."""
    agent.totp_secret = None
    agent.totp_enabled_at = None
    agent.totp_last_step = None
    await session.execute(delete(AgentRecoveryCode).where(AgentRecoveryCode.agent_id == agent.id))
    await session.flush()


async def _replace_recovery_codes(session: AsyncSession, *, agent: Agent) -> list[str]:
    await session.execute(delete(AgentRecoveryCode).where(AgentRecoveryCode.agent_id == agent.id))
    codes = totp.new_recovery_codes()
    session.add_all(
        AgentRecoveryCode(
            workspace_id=agent.workspace_id, agent_id=agent.id, code_hash=totp.recovery_code_hash(c)
        )
        for c in codes
    )
    await session.flush()
    return codes
