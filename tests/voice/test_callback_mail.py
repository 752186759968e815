"""A callback's confirmation by e-mail through the workspace's sending inbox, delivered to a
real SMTP server on loopback (the relay)."""

from __future__ import annotations

from sqlalchemy import text

from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from sodam.mail.outbound import send
from sodam.voice import callbacks, notify, service
from tests.mail.support import Sink, email_inbox
from tests.voice.test_callbacks import FRIDAY_5PM, FRIDAY_530, _line


async def test_the_confirmation_is_mailed_when_the_contact_has_an_address_and_an_inbox_can_send(
    make_workspace,
):
    ws = await make_workspace()
    inbox_id = await _line(ws)
    sink = Sink()
    try:
        _mail_inbox, address = await email_inbox(ws, relay_port=sink.port)
        async with session_scope() as session:
            inbox, line = await service.get_line(session, workspace_id=ws.workspace_id, inbox_id=inbox_id)
            contact = await contacts.create(
                session, workspace_id=ws.workspace_id, name="김민지", email="minji@customer.example"
            )
            booked = await callbacks.book(
                session,
                inbox=inbox,
                line=line,
                contact=contact,
                phone="010-1234-5678",
                slot_at=FRIDAY_530,
                source="api",
                now=FRIDAY_5PM,
            )
            # The booking deferred the mail job in its transaction; this test runs the job's
            # work itself (taken out before commit, so no server's worker sends it too).
            jobs = (
                (
                    await session.execute(
                        text(
                            "DELETE FROM procrastinate_jobs WHERE task_name = 'voice.callback_mail'"
                            " AND args->>'callback_id' = :id RETURNING args"
                        ),
                        {"id": str(booked.id)},
                    )
                )
                .scalars()
                .all()
            )
            await session.commit()
        assert [j["what"] for j in jobs] == ["confirmed"]
        async with session_scope() as session:
            out = await notify.prepare(
                session, callback_id=booked.id, what="confirmed", slot_at=jobs[0]["slot_at"]
            )
        await send(out)
        ((recipients, mail),) = await sink.wait_for(1)
        assert recipients == ["minji@customer.example"]
        assert mail["Subject"] == "전화 예약이 접수되었습니다" and address in mail["From"]
        assert mail["Auto-Submitted"] == "auto-replied"
        assert (
            "2월 26일(금) 17:30에 010-1234-5678(으)로 전화드리겠습니다"
            in mail.get_body(("plain",)).get_content()
        )
        # Moved since: the stale notice is not sent.
        async with session_scope() as session:
            assert (
                await notify.prepare(
                    session, callback_id=booked.id, what="confirmed", slot_at="2027-01-01T00:00:00+00:00"
                )
                is None
            )
    finally:
        sink.stop()
    # No address, or no inbox that can send: no mail job.
    other = await make_workspace()
    other_line = await _line(other)
    async with session_scope() as session:
        inbox, line = await service.get_line(session, workspace_id=other.workspace_id, inbox_id=other_line)
        contact = await contacts.create(session, workspace_id=other.workspace_id, email="x@customer.example")
        booked = await callbacks.book(
            session,
            inbox=inbox,
            line=line,
            contact=contact,
            phone="010-1234-5678",
            slot_at=FRIDAY_530,
            source="api",
            now=FRIDAY_5PM,
        )
        assert not await notify.can_mail(session, callback=booked)
        await session.commit()
