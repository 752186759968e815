"""A hand-built workspace history with known answers (every time chosen, written straight into
the event log, messages, the bot's records and survey answers, as the real paths write them).

Day: Tuesday 2026-03-10, Korea time. Agents A1, A2; inbox 1 (no hours) and inbox 2 (weekdays
09:00–18:00). Conversations:
  C1 no bot, 10:00, A1 replies 10:05 (300 s), resolved 10:30 (1800 s); a negative message; CSAT 5 "좋아요"
  C2 no bot, 11:00, A1 replies 11:10 (600 s), resolved 11:20 (1200 s), reopened 12:00, resolved 12:30; CSAT 2
  C3 no bot, 13:00, nobody answers (unanswered)
  C4 bot, 14:00, confirmed at 14:01 (contained)
  C5 bot, 15:00, handed off 15:02 (asked_for_human, intent refund), A2 replies 15:06 (240 s), resolved 15:30 (1800 s)
  C6 bot, 16:00, language en, assumed at 16:30 (contained)
  C7 bot, 17:00, assumed at 17:20, but A1 replied 17:25 without a handoff (1500 s): not contained
  C8 inbox 2, 17:50, A2 replies 2026-03-11 09:10: 55,200 s calendar, 1,200 s of business hours
Loose answers (no conversation) on 03-10: NPS 9, 7, 3; CES 5, 3.
Churn (30 days): contact X active only on 02-08 (lost), Y on 02-20 and C1 (kept).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

KST = ZoneInfo("Asia/Seoul")
DAY = "2026-03-10"
HOURS = {
    "timezone": "Asia/Seoul",
    "days": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


def at(hhmm: str, day: str = DAY) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=KST)


class Builder:
    def __init__(self, conn: psycopg.Connection, ws):
        self.conn, self.ws = conn, ws
        self.ids: dict[str, int] = {}

    def one(self, sql: str, params=()) -> int:
        return self.conn.execute(sql, params).fetchone()[0]

    def agent(self, key: str) -> int:
        self.ids[key] = self.one(
            "INSERT INTO agents (workspace_id, email, name, password_hash, role, locale, is_active, session_version)"
            " VALUES (%s, %s, %s, 'x', 'agent', 'ko', true, 1) RETURNING id",
            (self.ws.workspace_id, f"{key.lower()}-{secrets.token_hex(3)}@x.test", f"상담원 {key}"),
        )
        return self.ids[key]

    def inbox(self, key: str, hours=None) -> int:
        settings = {"auto_assign": False, "auto_reply": False, **({"business_hours": hours} if hours else {})}
        self.ids[key] = self.one(
            "INSERT INTO inboxes (workspace_id, name, channel_type, public_token, allowed_origins, settings)"
            " VALUES (%s, %s, 'web_widget', %s, '{}', %s) RETURNING id",
            (self.ws.workspace_id, key, secrets.token_hex(8), json.dumps(settings)),
        )
        return self.ids[key]

    def contact(self, key: str) -> int:
        self.ids[key] = self.one(
            "INSERT INTO contacts (workspace_id, name, language, custom_attributes) VALUES (%s, %s, 'ko', '{}') RETURNING id",
            (self.ws.workspace_id, key),
        )
        return self.ids[key]

    def conversation(
        self,
        key: str,
        *,
        inbox: int,
        contact: int,
        created: datetime,
        assignee: int | None = None,
        language: str = "ko",
        status: str = "open",
    ) -> int:
        self.ids[key] = cid = self.one(
            "INSERT INTO conversations (workspace_id, inbox_id, contact_id, status, priority, tags, language,"
            " assignee_id, last_seq, created_at, updated_at) VALUES (%s, %s, %s, %s, 'none', '{}', %s, %s, 0, %s, %s)"
            " RETURNING id",
            (self.ws.workspace_id, inbox, contact, status, language, assignee, created, created),
        )
        self.event(cid, "conversation.created", "contact", contact, {"inbox_id": inbox}, created)
        return cid

    def event(self, cid: int, type_: str, actor_type: str, actor_id, data: dict, when: datetime) -> None:
        self.conn.execute(
            "INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (self.ws.workspace_id, cid, type_, actor_type, actor_id, json.dumps(data), when),
        )

    def message(
        self, cid: int, sender: str, sender_id, when: datetime, *, kind="text", sentiment=None
    ) -> None:
        seq = self.one(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq", (cid,)
        )
        inbox = self.one("SELECT inbox_id FROM conversations WHERE id = %s", (cid,))
        direction = "incoming" if sender == "contact" else ("internal" if kind == "note" else "outgoing")
        self.conn.execute(
            "INSERT INTO messages (workspace_id, conversation_id, inbox_id, seq, direction, kind, sender_type,"
            " sender_id, content, sentiment_label, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,'…',%s,%s)",
            (self.ws.workspace_id, cid, inbox, seq, direction, kind, sender, sender_id, sentiment, when),
        )
        self.event(cid, "message.created", sender, sender_id, {"kind": kind, "seq": seq}, when)

    def status(self, cid: int, frm: str, to: str, actor: str, actor_id, when: datetime) -> None:
        self.conn.execute("UPDATE conversations SET status = %s WHERE id = %s", (to, cid))
        self.event(cid, "status.changed", actor, actor_id, {"from": frm, "to": to}, when)

    def bot(self, cid: int, outcome: str, when: datetime, **kw) -> None:
        self.conn.execute(
            "INSERT INTO bot_conversations (workspace_id, conversation_id, state, outcome, outcome_at, handoff_reason,"
            " intent, last_question, answers) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1)",
            (
                self.ws.workspace_id,
                cid,
                "handed_off" if outcome == "handed_off" else "resolved",
                outcome,
                when,
                kw.get("reason"),
                kw.get("intent"),
                kw.get("question"),
            ),
        )

    def survey(self, kind: str) -> int:
        return self.one(
            "INSERT INTO surveys (workspace_id, name, kind, audience, questions, on_resolve_inbox_ids, escalate,"
            " expires_after_hours, is_active) VALUES (%s, %s, %s, 'customers', '[]', '{}', false, 168, true) RETURNING id",
            (self.ws.workspace_id, kind, kind),
        )

    def answer(
        self, survey: int, kind: str, score: int, when: datetime, *, contact: int, conv=None, comment=None
    ):
        recipient = self.one(
            "INSERT INTO survey_recipients (workspace_id, survey_id, contact_id, conversation_id, token, channel,"
            " language, expires_at) VALUES (%s, %s, %s, %s, %s, 'link', 'ko', %s) RETURNING id",
            (self.ws.workspace_id, survey, contact, conv, secrets.token_hex(16), when + timedelta(days=7)),
        )
        return self.one(
            "INSERT INTO survey_answers (workspace_id, survey_id, recipient_id, contact_id, conversation_id, kind,"
            " score, answers, comment, created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,'{}',%s,%s,%s) RETURNING id",
            (self.ws.workspace_id, survey, recipient, contact, conv, kind, score, comment, when, when),
        )


def build(url: str, ws) -> dict[str, int]:
    with psycopg.connect(url, autocommit=False) as conn:
        b = Builder(conn, ws)
        a1, a2 = b.agent("A1"), b.agent("A2")
        i1, i2 = b.inbox("I1"), b.inbox("I2", HOURS)
        y, x = b.contact("Y"), b.contact("X")
        others = [b.contact(f"K{n}") for n in range(8)]
        # Churn history (30-day windows): X only on 02-08 (lost at 03-10's end), Y on 02-20.
        old_x = b.conversation("OX", inbox=i1, contact=x, created=at("12:00", "2026-02-08"))
        b.message(old_x, "contact", x, at("12:00", "2026-02-08"))
        old_y = b.conversation("OY", inbox=i1, contact=y, created=at("12:00", "2026-02-20"))
        b.message(old_y, "contact", y, at("12:00", "2026-02-20"))

        c1 = b.conversation("C1", inbox=i1, contact=y, created=at("10:00"), assignee=a1, status="resolved")
        b.message(c1, "contact", y, at("10:00"), sentiment="negative")
        b.message(c1, "agent", a1, at("10:03"), kind="note")  # a private note is not a reply
        b.message(c1, "agent", a1, at("10:05"))
        b.status(c1, "open", "resolved", "agent", a1, at("10:30"))

        c2 = b.conversation(
            "C2", inbox=i1, contact=others[0], created=at("11:00"), assignee=a1, status="resolved"
        )
        b.message(c2, "contact", others[0], at("11:00"), sentiment="neutral")
        b.message(c2, "agent", a1, at("11:10"))
        b.status(c2, "open", "resolved", "agent", a1, at("11:20"))
        b.message(c2, "contact", others[0], at("12:00"))
        b.status(c2, "resolved", "open", "contact", others[0], at("12:00"))
        b.status(c2, "open", "resolved", "agent", a1, at("12:30"))

        c3 = b.conversation("C3", inbox=i1, contact=others[1], created=at("13:00"))
        b.message(c3, "contact", others[1], at("13:00"))

        c4 = b.conversation("C4", inbox=i1, contact=others[2], created=at("14:00"))
        b.message(c4, "contact", others[2], at("14:00"))
        b.message(c4, "bot", None, at("14:00"), kind="bot")
        b.bot(c4, "confirmed", at("14:01"), intent="shipping")

        c5 = b.conversation(
            "C5", inbox=i1, contact=others[3], created=at("15:00"), assignee=a2, status="resolved"
        )
        b.message(c5, "contact", others[3], at("15:00"))
        b.message(c5, "bot", None, at("15:00"), kind="bot")
        b.event(c5, "bot.handed_off", "bot", None, {"reason": "asked_for_human"}, at("15:02"))
        b.bot(
            c5,
            "handed_off",
            at("15:02"),
            reason="asked_for_human",
            intent="refund",
            question="환불 언제 되나요?",
        )
        b.message(c5, "agent", a2, at("15:06"))
        b.status(c5, "open", "resolved", "agent", a2, at("15:30"))

        c6 = b.conversation("C6", inbox=i1, contact=others[4], created=at("16:00"), language="en")
        b.message(c6, "contact", others[4], at("16:00"))
        b.message(c6, "bot", None, at("16:00"), kind="bot")
        b.bot(c6, "assumed", at("16:30"), intent="hours")

        c7 = b.conversation("C7", inbox=i1, contact=others[5], created=at("17:00"), assignee=a1)
        b.message(c7, "contact", others[5], at("17:00"))
        b.message(c7, "bot", None, at("17:00"), kind="bot")
        b.bot(c7, "assumed", at("17:20"), intent="shipping")
        b.message(c7, "agent", a1, at("17:25"))

        c8 = b.conversation("C8", inbox=i2, contact=others[6], created=at("17:50"), assignee=a2)
        b.message(c8, "contact", others[6], at("17:50"))
        b.message(c8, "agent", a2, at("09:10", "2026-03-11"))

        csat, nps, ces = b.survey("csat"), b.survey("nps"), b.survey("ces")
        b.answer(csat, "csat", 5, at("10:40"), contact=y, conv=c1, comment="좋아요")
        b.answer(csat, "csat", 2, at("12:40"), contact=others[0], conv=c2)
        for n, score in enumerate((9, 7, 3)):
            b.answer(nps, "nps", score, at(f"12:0{n}"), contact=others[7])
        b.answer(ces, "ces", 5, at("12:10"), contact=others[7])
        b.answer(ces, "ces", 3, at("12:11"), contact=others[7])
        conn.commit()
        return dict(b.ids)
