"""A sender killed with SIGKILL mid-campaign: the batch in flight rolls back, the next run
claims the same recipients, and every contact gets the campaign exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select, text

from sodam.campaigns import send
from sodam.campaigns.models import CampaignRecipient
from sodam.conversations.models import Message
from sodam.db.session import session_scope
from tests.campaigns.helpers import segment, widget_contacts
from tests.webhooks.helpers import api as make_api

ROOT = Path(__file__).resolve().parents[2]


async def test_no_duplicates_when_the_sender_dies_mid_campaign(live_server, make_workspace, database_url):
    ws = await make_workspace()
    await widget_contacts(ws, 120)
    async with make_api(live_server, ws.api_token) as api:
        seg = await segment(api)
        r = await api.post(
            "/api/v1/campaigns",
            json={
                "name": "재시작",
                "segment_id": seg,
                "inbox_id": ws.inbox_id,
                "channel": "widget_message",
                "body_ko": "안녕하세요 {name}님",
                "rate_per_s": 30,
            },
        )
        cid = r.json()["id"]
    # Running, but no job queued: this test's own processes do the sending.
    async with session_scope() as session:
        await session.execute(
            text("UPDATE campaigns SET status = 'running', started_at = now() WHERE id = :c"), {"c": cid}
        )
    script = textwrap.dedent(
        f"""
        import asyncio
        from sodam.db.session import init_engine
        init_engine({database_url!r}, pool_size=2)
        from sodam.jobs.app import load_task_modules
        load_task_modules()  # every model mapped, as in a worker
        from sodam.campaigns import send
        asyncio.run(send.run({cid}, budget_s=600))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)  # noqa: S603, ASYNC220
    try:
        for _ in range(300):
            async with session_scope() as session:
                sent = await session.scalar(
                    select(func.count()).where(
                        CampaignRecipient.campaign_id == cid, CampaignRecipient.status == "sent"
                    )
                )
            if sent >= 45:
                break
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # kill -9, wherever it is (often inside a batch)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    async with session_scope() as session:
        partial = await session.scalar(
            select(func.count()).where(
                CampaignRecipient.campaign_id == cid, CampaignRecipient.status == "sent"
            )
        )
    assert 0 < partial < 120, partial
    # The restart (what the job queue does for a dead worker's job): it finishes the rest.
    assert await send.run(cid, budget_s=120) == "done"
    async with session_scope() as session:
        rows = list(
            await session.scalars(select(CampaignRecipient).where(CampaignRecipient.campaign_id == cid))
        )
        assert len(rows) == 120 and {r.status for r in rows} == {"sent"}
        per_contact = (
            await session.execute(
                select(Message.client_id, func.count())
                .where(Message.inbox_id == ws.inbox_id, Message.client_id.like(f"campaign-{cid}-%"))
                .group_by(Message.client_id)
            )
        ).all()
        assert len(per_contact) == 120 and {n for _c, n in per_contact} == {1}
        assert len({r.conversation_id for r in rows}) == 120
