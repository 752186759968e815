"""The workspace's knowledge-base settings: the video allow-list, the review period and the
thresholds that make an article stale. No row means the defaults below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.core.errors import Invalid
from sodam.knowledge import clock
from sodam.knowledge.models import KbSettings
from sodam.knowledge.videos import DEFAULT_VIDEO_HOSTS, clean_hosts

REVIEW_DAYS = 180
STALE_VIEW_DAYS = 90
MIN_DOWNVOTES = 3
HANDOFF_DAYS = 30
LIMITS = {
    "review_days": (7, 1095),
    "stale_view_days": (7, 365),
    "min_downvotes": (1, 1000),
    "handoff_days": (1, 365),
}


@dataclass(frozen=True)
class KbConfig:
    video_hosts: tuple[str, ...] = DEFAULT_VIDEO_HOSTS
    review_days: int = REVIEW_DAYS
    stale_view_days: int = STALE_VIEW_DAYS
    min_downvotes: int = MIN_DOWNVOTES
    handoff_days: int = HANDOFF_DAYS
    custom_hosts: bool = False  # False: the default list is in force


async def get(session: AsyncSession, *, workspace_id: int) -> KbConfig:
    """The workspace's settings (the defaults when none were saved)."""
    row = await session.get(KbSettings, workspace_id)
    if row is None:
        return KbConfig()
    return KbConfig(
        video_hosts=tuple(row.video_hosts) if row.video_hosts is not None else DEFAULT_VIDEO_HOSTS,
        review_days=row.review_days,
        stale_view_days=row.stale_view_days,
        min_downvotes=row.min_downvotes,
        handoff_days=row.handoff_days,
        custom_hosts=row.video_hosts is not None,
    )


async def save(
    session: AsyncSession,
    *,
    workspace_id: int,
    video_hosts: Sequence[str] | None = None,
    reset_video_hosts: bool = False,
    **numbers: int | None,
) -> KbConfig:
    """Change the settings given (None: unchanged); `reset_video_hosts` restores the default list."""
    for key, value in numbers.items():
        if key not in LIMITS:
            raise TypeError(key)
        low, high = LIMITS[key]
        if value is not None and not low <= value <= high:
            raise Invalid(f"{key} must be between {low} and {high}", code=f"invalid_{key}")
    row = await session.get(KbSettings, workspace_id)
    if row is None:
        row = KbSettings(
            workspace_id=workspace_id,
            review_days=REVIEW_DAYS,
            stale_view_days=STALE_VIEW_DAYS,
            min_downvotes=MIN_DOWNVOTES,
            handoff_days=HANDOFF_DAYS,
        )
        session.add(row)
    if reset_video_hosts:
        row.video_hosts = None
    elif video_hosts is not None:
        row.video_hosts = clean_hosts(video_hosts)
    for key, value in numbers.items():
        if value is not None:
            setattr(row, key, value)
    row.updated_at = clock.now()
    await session.flush()
    return await get(session, workspace_id=workspace_id)
