"""Surveys of the demo workspace: CSAT after every resolved chat, an NPS survey with one
answer, and an anonymous team survey."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.surveys import service


async def seed(
    session: AsyncSession, *, workspace_id: int, inbox_id: int, nps_contact_id: int | None
) -> None:
    """Create the demo surveys (the caller owns the transaction)."""
    await service.create(
        session,
        workspace_id=workspace_id,
        name="상담 만족도 (CSAT)",
        kind="csat",
        on_resolve_inbox_ids=[inbox_id],
    )
    nps = await service.create(session, workspace_id=workspace_id, name="분기 추천 의향 (NPS)", kind="nps")
    if nps_contact_id is not None:
        recipient, _ = await service.invite(session, survey=nps, contact_id=nps_contact_id)
        await service.submit(
            session,
            recipient=recipient,
            survey=nps,
            answers={"score": 9, "comment": "Fast and friendly support."},
        )
    await service.create(
        session,
        workspace_id=workspace_id,
        name="이번 분기 직원 설문",
        kind="custom",
        audience="agents",
        escalate=False,
        questions=[
            {
                "id": "q1",
                "type": "likert",
                "text": {"ko": "우리 팀에서 존중받는다고 느낀다", "en": "I feel respected in my team"},
            },
            {
                "id": "q2",
                "type": "likert",
                "text": {"ko": "업무량이 적당하다", "en": "My workload is reasonable"},
            },
            {
                "id": "q3",
                "type": "text",
                "required": False,
                "text": {
                    "ko": "하고 싶은 말씀을 자유롭게 적어 주세요.",
                    "en": "Anything else you would like to say?",
                },
            },
        ],
    )
