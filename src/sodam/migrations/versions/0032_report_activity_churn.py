"""reports: per-customer activity rollup (churn and retention), the contact on each fact
(segment filters), churn-risk scores and models, the weekly digest's subscribers

Revision ID: 0032
Revises: 0022
Create Date: 2026-12-03

- report_facts.contact_id: the customer a fact is about (the conversation's contact, or the
  loose answer's), backfilled here; indexes so a segment-filtered report reads a period's facts,
  the activity refresh a contact's, and churn with several filters the conversations started
  in a window (a partial covering index).
- report_contact_activity: one row per (workspace, dim, value, contact, UTC hour) in which the
  customer started a conversation, with the next such hour (`next_hour`) of the same
  (dim, value, contact) — dim '' is the whole workspace, the others one dimension as in
  report_hourly_dim. "Active at t" and "lost between s and e" are then range counts on
  (workspace, dim, value, hour). Kept by reports.refresh, rebuilt by `sodam reports rebuild`
  (this migration fills it from the facts already there).
- triggers queue a conversation (or a survey answer) in report_dirty when its contact changes
  (a merge moves them without an event).
- churn_models / churn_scores: the logistic model trained on the workspace's own history
  (coefficients, scaling, held-out AUC) and each customer's risk.
- report_digest_subscribers: 매니저s who get the weekly insights digest by e-mail;
  report_digest_sends: one row per (workspace, week) sent, so a retried job sends once.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0032"
down_revision = "0035"
branch_labels = None
depends_on = None

TRIGGER = """
CREATE FUNCTION sodam_report_dirty_contact() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_dirty (workspace_id, conversation_id) VALUES (NEW.workspace_id, NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER report_dirty_contact AFTER UPDATE OF contact_id ON conversations
    FOR EACH ROW WHEN (OLD.contact_id IS DISTINCT FROM NEW.contact_id)
    EXECUTE FUNCTION sodam_report_dirty_contact();
-- An answer moved to another customer by a merge changes its fact's contact too.
DROP TRIGGER report_dirty_answer ON survey_answers;
CREATE TRIGGER report_dirty_answer AFTER INSERT OR UPDATE OF score, conversation_id, kind, contact_id
    ON survey_answers FOR EACH ROW EXECUTE FUNCTION sodam_report_dirty_answer();
"""


BACKFILL_ACTIVITY = """
INSERT INTO report_contact_activity (workspace_id, contact_id, dim, value, hour, next_hour, conversations)
SELECT workspace_id, contact_id, dim, value, hour,
       lead(hour) OVER (PARTITION BY workspace_id, contact_id, dim, value ORDER BY hour), n
  FROM (SELECT s.workspace_id, s.contact_id, d.dim, d.value, s.hour, sum(s.conversations)::int AS n
          FROM report_facts s
          CROSS JOIN LATERAL (VALUES ('', ''), ('inbox_id', s.inbox_id::text), ('channel', s.channel),
                ('team_id', s.team_id::text), ('agent_id', s.agent_id::text), ('language', s.language))
                d(dim, value)
         WHERE s.conversations > 0 AND s.contact_id IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5) a
"""


def upgrade() -> None:
    op.add_column("report_facts", sa.Column("contact_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE report_facts f SET contact_id = c.contact_id FROM conversations c"
        " WHERE c.id = f.conversation_id AND f.conversation_id IS NOT NULL"
    )
    op.execute(
        "UPDATE report_facts f SET contact_id = a.contact_id FROM survey_answers a"
        " WHERE a.id = f.answer_id AND f.conversation_id IS NULL"
    )
    op.create_index("ix_report_facts_ws_hour", "report_facts", ["workspace_id", "hour"])
    # A contact's facts (contact ids are unique across workspaces): the activity refresh, churn
    # risk's features.
    op.create_index("ix_report_facts_contact", "report_facts", ["contact_id", "hour"])
    # Conversations started, by hour, with their customer and dimensions: churn with two
    # dimension filters or more reads this index alone (an index-only scan of the window).
    op.execute(
        "CREATE INDEX ix_report_facts_started ON report_facts (workspace_id, hour)"
        " INCLUDE (contact_id, inbox_id, channel, team_id, agent_id, language) WHERE conversations > 0"
    )
    # Each conversation's first response and resolution with its dimensions: the percentiles
    # (p50/p90) of a period read this index alone.
    op.execute(
        "CREATE INDEX ix_report_facts_durations ON report_facts (workspace_id, hour)"
        " INCLUDE (frt_count, frt_sum_ms, resolved, resolution_sum_ms, inbox_id, channel, team_id, agent_id,"
        " language, contact_id) WHERE frt_count > 0 OR resolved > 0"
    )
    op.create_table(
        "report_contact_activity",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("dim", sa.String(12), nullable=False),
        sa.Column("value", sa.String(40), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_hour", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conversations", sa.Integer(), nullable=False, server_default="0"),
        # Keyed by contact (unique across workspaces): a refresh replaces a batch of contacts'
        # rows; churn probes one contact's window.
        sa.PrimaryKeyConstraint("contact_id", "dim", "value", "hour", name="pk_report_contact_activity"),
    )
    # Churn counts the rows of a window by hour: an index-only range scan.
    op.execute(
        "CREATE INDEX ix_report_contact_activity_hour ON report_contact_activity"
        " (workspace_id, dim, value, hour) INCLUDE (contact_id, next_hour)"
    )
    # Filled here from the facts already there (the statement as rollup.ACTIVITY_SQL had it
    # when this migration was written), so an upgrade needs no `sodam reports rebuild`.
    op.execute(BACKFILL_ACTIVITY)
    op.execute(TRIGGER)
    op.create_table(
        "churn_models",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("model", JSONB(), nullable=False),
        sa.Column("auc", sa.Float(), nullable=True),
        sa.Column("n_train", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("n_test", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_churn_models_ws_trained", "churn_models", ["workspace_id", "trained_at"])
    op.create_table(
        "churn_scores",
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("features", JSONB(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", name="pk_churn_scores"),
    )
    op.create_index("ix_churn_scores_ws_risk", "churn_scores", ["workspace_id", sa.text("risk DESC")])
    op.create_table(
        "report_digest_subscribers",
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("workspace_id", "agent_id", name="pk_report_digest_subscribers"),
    )
    op.create_table(
        "report_digest_sends",
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("workspace_id", "week", name="pk_report_digest_sends"),
    )


def downgrade() -> None:
    for table in ("report_digest_sends", "report_digest_subscribers", "churn_scores", "churn_models"):
        op.drop_table(table)
    op.execute("DROP TRIGGER IF EXISTS report_dirty_answer ON survey_answers")
    op.execute(
        "CREATE TRIGGER report_dirty_answer AFTER INSERT OR UPDATE OF score, conversation_id, kind"
        " ON survey_answers FOR EACH ROW EXECUTE FUNCTION sodam_report_dirty_answer()"
    )
    op.execute("DROP TRIGGER IF EXISTS report_dirty_contact ON conversations")
    op.execute("DROP FUNCTION IF EXISTS sodam_report_dirty_contact()")
    op.drop_table("report_contact_activity")
    op.drop_index("ix_report_facts_durations", table_name="report_facts")
    op.drop_index("ix_report_facts_started", table_name="report_facts")
    op.drop_index("ix_report_facts_contact", table_name="report_facts")
    op.drop_index("ix_report_facts_ws_hour", table_name="report_facts")
    op.drop_column("report_facts", "contact_id")
