"""Request and response bodies of the calls API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["video", "voice"] = "video"
    scheduled_at: datetime


class CallOut(BaseModel):
    id: int
    conversation_id: int
    kind: str
    initiator: str
    status: str
    outcome: str | None
    agent_id: int | None
    agent_name: str | None = None
    scheduled_at: datetime | None
    ringing_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    created_at: datetime | None


class CallsOut(BaseModel):
    calls: list[CallOut]


class SlotOut(BaseModel):
    start: datetime
    label: str
    left: int


class SlotsOut(BaseModel):
    language: str
    slots: list[SlotOut]


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


def ice_servers() -> list[dict]:
    """The ICE servers both browsers use (SODAM_CALL_*); empty on a LAN or loopback."""
    from sodam.config import get_settings

    s = get_settings()

    def urls(value: str) -> list[str]:
        return [u.strip() for u in value.split(",") if u.strip()]

    out: list[dict] = []
    if urls(s.call_stun_urls):
        out.append({"urls": urls(s.call_stun_urls)})
    if urls(s.call_turn_urls):
        out.append(
            {
                "urls": urls(s.call_turn_urls),
                "username": s.call_turn_username,
                "credential": s.call_turn_credential,
            }
        )
    return out
