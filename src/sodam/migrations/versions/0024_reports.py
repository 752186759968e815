"""reports: per-conversation facts, hourly rollups by dimension, the event-log cursor and the
queue of rows changed in place

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-02

- report_facts: what one conversation (or one survey answer with no conversation) adds to
  the rollup, as rows per (hour, inbox, channel, team, agent, language): derived, replaced
  whole when the conversation changes, so recomputing a conversation twice never counts twice.
- report_hourly: the sum of report_facts per (workspace, UTC hour, inbox, channel, team,
  agent, language); the reports read only this (and a few small per-bot-conversation lists).
  "None" dimensions are 0 / '' so the primary key needs no NULL handling.
- report_hourly_dim: the same sums by one dimension at a time (dim '' = the workspace), for
  reports with no filter or one.
- report_cursor: one row: how far the conversation event log has been read (id watermark)
  and the ids below it not yet visible then (gaps: ids taken by transactions still running,
  or rolled back), each with the snapshot horizon after which it is known to be final.
- report_dirty: conversations or answers changed in place without an event (the bot's
  assumed resolution, a message's sentiment scored later, a survey answer): triggers on
  those rows (none on the message path) queue them.
- ix_conversations_ws_created on conversations (workspace, created_at) including contact_id
  (segments' migration 0023 creates it too): churn counts customers active in a window.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None

METRICS = (
    "conversations",
    "bot_conversations",
    "bot_decided",
    "bot_confirmed",
    "bot_assumed",
    "bot_contained",
    "handoffs",
    "frt_count",
    "unanswered",
    "resolved",
    "fcr",
    "reopened",
    "scored",
    "negative",
    "csat_n",
    "csat_pos",
    "nps_n",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "ces_n",
    "ces_sum",
)
SUMS = ("frt_sum_ms", "frt_business_sum_ms", "resolution_sum_ms", "resolution_business_sum_ms")


def _dims():
    return [
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inbox_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("channel", sa.String(20), nullable=False, server_default=""),
        sa.Column("team_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("agent_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("language", sa.String(8), nullable=False, server_default=""),
    ]


def _metrics():
    return [sa.Column(m, sa.Integer(), nullable=False, server_default="0") for m in METRICS] + [
        sa.Column(s, sa.BigInteger(), nullable=False, server_default="0") for s in SUMS
    ]


TRIGGERS = """
CREATE FUNCTION sodam_report_dirty_conversation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_dirty (workspace_id, conversation_id) VALUES (NEW.workspace_id, NEW.conversation_id);
    RETURN NULL;
END
$$;

CREATE FUNCTION sodam_report_dirty_answer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_dirty (workspace_id, conversation_id, answer_id)
    VALUES (NEW.workspace_id, NEW.conversation_id, NEW.id);
    IF TG_OP = 'UPDATE' AND OLD.conversation_id IS DISTINCT FROM NEW.conversation_id THEN
        INSERT INTO report_dirty (workspace_id, conversation_id, answer_id)
        VALUES (OLD.workspace_id, OLD.conversation_id, OLD.id);
    END IF;
    RETURN NULL;
END
$$;

-- The bot's outcome changes without an event when a quiet customer counts as "assumed".
CREATE TRIGGER report_dirty_bot_outcome AFTER UPDATE OF outcome ON bot_conversations
    FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome)
    EXECUTE FUNCTION sodam_report_dirty_conversation();
-- Sentiment is scored by a job after the message was stored (an UPDATE, never the insert).
CREATE TRIGGER report_dirty_sentiment AFTER UPDATE OF sentiment_label ON messages
    FOR EACH ROW WHEN (OLD.sentiment_label IS DISTINCT FROM NEW.sentiment_label)
    EXECUTE FUNCTION sodam_report_dirty_conversation();
CREATE TRIGGER report_dirty_answer AFTER INSERT OR UPDATE OF score, conversation_id, kind ON survey_answers
    FOR EACH ROW EXECUTE FUNCTION sodam_report_dirty_answer();
"""


def upgrade() -> None:
    op.create_table(
        "report_facts",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("answer_id", sa.BigInteger(), nullable=True),
        *_dims(),
        *_metrics(),
    )
    op.create_index("ix_report_facts_conversation", "report_facts", ["conversation_id"])
    op.create_index(
        "ix_report_facts_answer", "report_facts", ["answer_id"], postgresql_where=sa.text("answer_id IS NOT NULL")
    )
    op.create_index("ix_report_facts_workspace", "report_facts", ["workspace_id"])
    op.create_table(
        "report_hourly",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        *_dims(),
        *_metrics(),
        sa.PrimaryKeyConstraint(
            "workspace_id", "hour", "inbox_id", "channel", "team_id", "agent_id", "language", name="pk_report_hourly"
        ),
    )
    # Agent reports group a period by agent: (workspace, agent, hour) avoids the whole period.
    op.create_index("ix_report_hourly_agent", "report_hourly", ["workspace_id", "agent_id", "hour"])
    # The same sums by one dimension at a time (dim '' = the whole workspace): a report with no
    # filter or one reads a few rows per hour here instead of the cube's every combination.
    op.create_table(
        "report_hourly_dim",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("dim", sa.String(12), nullable=False),
        sa.Column("value", sa.String(40), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        *_metrics(),
        sa.PrimaryKeyConstraint("workspace_id", "dim", "value", "hour", name="pk_report_hourly_dim"),
    )
    op.create_table(
        "report_cursor",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("gap_ids", sa.ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        # Per gap: the snapshot xmax (as bigint) after which it is final, and when it was seen.
        sa.Column("gap_horizons", sa.ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        sa.Column("gap_seen_at", sa.ARRAY(sa.DateTime(timezone=True)), nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="one_row"),
    )
    op.execute("INSERT INTO report_cursor (id) VALUES (1)")
    op.create_table(
        "report_dirty",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("answer_id", sa.BigInteger(), nullable=True),
    )
    op.execute(TRIGGERS)
    # Churn reads each customer's conversations in a window by creation time: the same index
    # segments created (0023); created here only if a database lacks it.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_conversations_ws_created ON conversations (workspace_id, created_at)"
        " INCLUDE (contact_id)"
    )


def downgrade() -> None:
    # ix_conversations_ws_created stays: segments (0023) created it first.
    op.execute("DROP TRIGGER IF EXISTS report_dirty_answer ON survey_answers")
    op.execute("DROP TRIGGER IF EXISTS report_dirty_sentiment ON messages")
    op.execute("DROP TRIGGER IF EXISTS report_dirty_bot_outcome ON bot_conversations")
    op.execute("DROP FUNCTION IF EXISTS sodam_report_dirty_answer()")
    op.execute("DROP FUNCTION IF EXISTS sodam_report_dirty_conversation()")
    for table in ("report_dirty", "report_cursor", "report_hourly_dim", "report_hourly", "report_facts"):
        op.drop_table(table)
