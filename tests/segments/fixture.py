"""A hand-built workspace with known answers for every segment condition.

| who   | language | company   | attributes                                              | conversations                          | surveys (last)      | sentiment |
| kim   | ko       | 소담상사   | tier VIP, plan pro, seats 12, renewal 2027-03-01, interests [shoes, bags] | widget open (tag refund) now; widget resolved 5 days ago | CSAT 2→5, NPS 3 | negative (−0.7) |
| lee   | en       | Acme Corp | tier Gold, seats 3, renewal 2026-01-15                  | e-mail resolved 60 days ago (tag vip)  | CSAT 1              | positive (0.5) |
| empty | —        | —         | {} (nothing)                                            | none                                   | none                | none |
| park  | ko       | ""        | tier null, seats "12" (text), vip true                  | none; a widget page opened today       | none                | none |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.contacts import service as contacts
from sodam.contacts import visits
from sodam.conversations import service as conversations
from sodam.db.session import session_scope
from sodam.surveys import service as surveys


@dataclass
class People:
    kim: int
    lee: int
    empty: int
    park: int
    email_inbox: int

    @property
    def everyone(self) -> set[int]:
        return {self.kim, self.lee, self.empty, self.park}


async def _scored_messages(s, *, ws: int, conversation_id: int, inbox_id: int, contact_id: int, scores, at):
    """Customer messages inserted with their scores (the insert trigger keeps the sentiment)."""
    for seq, score in enumerate(scores, start=1):
        await s.execute(
            text(
                "INSERT INTO messages (workspace_id, conversation_id, inbox_id, seq, direction, kind, sender_type,"
                " sender_id, content, sentiment_score, created_at) VALUES (:ws, :c, :i, :seq, 'incoming', 'text',"
                " 'contact', :who, '메시지', :score, :at)"
            ),
            {
                "ws": ws,
                "c": conversation_id,
                "i": inbox_id,
                "seq": seq,
                "who": contact_id,
                "score": score,
                "at": at + timedelta(minutes=seq),
            },
        )
    await s.execute(
        text("UPDATE conversations SET last_seq = :n, last_message_at = :at WHERE id = :c"),
        {"n": len(scores), "at": at + timedelta(minutes=len(scores)), "c": conversation_id},
    )


async def build(ws) -> People:
    now = datetime.now(UTC)
    wid = ws.workspace_id
    async with session_scope() as s:
        email = await inboxes.create(
            s, workspace_id=wid, name="메일", allowed_origins=[], channel_type=ChannelType.email
        )
        kim = await contacts.create(
            s,
            workspace_id=wid,
            name="김소담",
            email=None,
            company="소담상사",
            language="ko",
            custom_attributes={
                "tier": "VIP",
                "plan": "pro",
                "seats": 12,
                "renewal": "2027-03-01",
                "interests": ["shoes", "bags"],
            },
        )
        lee = await contacts.create(
            s,
            workspace_id=wid,
            name="Lee",
            email=None,
            company="Acme Corp",
            language="en",
            custom_attributes={"tier": "Gold", "seats": 3, "renewal": "2026-01-15"},
        )
        empty = await contacts.create(s, workspace_id=wid, name="빈 고객", email=None)
        park = await contacts.create(
            s,
            workspace_id=wid,
            name="박",
            email=None,
            company="",
            language="ko",
            custom_attributes={"tier": None, "seats": "12", "vip": True},
        )
        k_open = await conversations.create(s, workspace_id=wid, inbox_id=ws.inbox_id, contact_id=kim.id)
        k_old = await conversations.create(s, workspace_id=wid, inbox_id=ws.inbox_id, contact_id=kim.id)
        l_old = await conversations.create(s, workspace_id=wid, inbox_id=email.id, contact_id=lee.id)
        await s.flush()
        five_days, sixty_days = now - timedelta(days=5), now - timedelta(days=60)
        await s.execute(
            text(
                "UPDATE conversations SET status = 'resolved', created_at = :at, updated_at = :at"
                " WHERE id = ANY(:ids)"
            ),
            {"at": five_days, "ids": [k_old.id]},
        )
        await s.execute(
            text(
                "UPDATE conversations SET status = 'resolved', created_at = :at, updated_at = :at,"
                " tags = '{vip}' WHERE id = :id"
            ),
            {"at": sixty_days, "id": l_old.id},
        )
        await s.execute(text("UPDATE conversations SET tags = '{refund}' WHERE id = :id"), {"id": k_open.id})
        # Kim: the older conversation is positive, the open (latest) one negative: the last counts.
        await _scored_messages(
            s,
            ws=wid,
            conversation_id=k_old.id,
            inbox_id=ws.inbox_id,
            contact_id=kim.id,
            scores=[0.9],
            at=five_days,
        )
        await _scored_messages(
            s,
            ws=wid,
            conversation_id=k_open.id,
            inbox_id=ws.inbox_id,
            contact_id=kim.id,
            scores=[-0.6, -0.8],
            at=now - timedelta(minutes=30),
        )
        await _scored_messages(
            s,
            ws=wid,
            conversation_id=l_old.id,
            inbox_id=email.id,
            contact_id=lee.id,
            scores=[0.5],
            at=sixty_days,
        )
        await visits.record(
            s,
            workspace_id=wid,
            inbox_id=ws.inbox_id,
            contact_id=park.id,
            visit_id="v-park",
            url="https://shop.example.com/",
            title="홈",
            referrer=None,
            user_agent="Mozilla/5.0",
        )
        await s.commit()
    async with session_scope() as s:
        # No escalation: a server's job worker would open a follow-up conversation for the low
        # scores, and Lee's last activity would be now.
        csat = await surveys.create(s, workspace_id=wid, name="CSAT", kind="csat", escalate=False)
        nps = await surveys.create(s, workspace_id=wid, name="NPS", kind="nps", escalate=False)
        for contact_id, survey, score in ((kim.id, csat, 2), (lee.id, csat, 1), (kim.id, nps, 3)):
            r, _ = await surveys.invite(s, survey=survey, contact_id=contact_id)
            await surveys.submit(s, recipient=r, survey=survey, answers={"score": score})
        await s.commit()
    async with session_scope() as s:  # Kim's later CSAT answer: the last one is 5
        csat = await surveys.get(s, workspace_id=wid, survey_id=csat.id)
        r, _ = await surveys.invite(s, survey=csat, contact_id=kim.id)
        await surveys.submit(s, recipient=r, survey=csat, answers={"score": 5})
        await s.execute(
            text(
                "UPDATE survey_answers SET created_at = now() + interval '1 second' WHERE recipient_id = :r"
            ),
            {"r": r.id},
        )
        await s.commit()
    return People(kim=kim.id, lee=lee.id, empty=empty.id, park=park.id, email_inbox=email.id)
