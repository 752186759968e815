"""reports: dimension-pair rollups, per-customer journey summary, agents' availability history

Revision ID: 0039
Revises: 0037
Create Date: 2026-12-03

- report_hourly_dim and report_contact_activity also hold every **pair** of the four
  dimensions other than the agent (inbox, channel, team, language): dim "channel+language",
  value "web_widget|ko". A report with two of those filters reads a few rows per hour instead of
  the cube (sums) or the facts (churn). `dim` widens to 40 characters (no rewrite: varchar
  widening is binary compatible). Filled here from the rollup and the facts already there.
- ix_report_facts_agent_started: conversations started, by (workspace, agent, hour) with their
  customer and dimensions — churn with an agent and another filter reads one agent's entries.
- report_contact_journey: one row per customer (first hour and channel of their first
  conversation, last hour, conversations, CSAT and NPS counts) kept by reports.refresh for the
  customers a batch touches: the journey map's aggregate path and the cohorts' first month.
- agent_availability_log: every availability change of an agent (a trigger on agent_states,
  so every process and path is recorded in the same transaction), with its time; the agents
  report sums time online / away / busy per period. Seeded with each agent's current state.
- ix_campaign_recipients_contact: one customer's journey lists the campaigns they were sent.
"""

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0037"
branch_labels = None
depends_on = None

# The pair split as rollup.DIM_SPLIT had it when this migration was written.
PAIRS = (
    "CROSS JOIN LATERAL (VALUES"
    " ('inbox_id+channel', s.inbox_id::text || '|' || s.channel),"
    " ('inbox_id+team_id', s.inbox_id::text || '|' || s.team_id::text),"
    " ('inbox_id+language', s.inbox_id::text || '|' || s.language),"
    " ('channel+team_id', s.channel || '|' || s.team_id::text),"
    " ('channel+language', s.channel || '|' || s.language),"
    " ('team_id+language', s.team_id::text || '|' || s.language)) d(dim, value)"
)
COUNTERS = (
    "conversations bot_conversations bot_decided bot_confirmed bot_assumed bot_contained handoffs frt_count"
    " unanswered resolved fcr reopened scored negative csat_n csat_pos nps_n nps_promoters nps_passives"
    " nps_detractors ces_n ces_sum frt_sum_ms frt_business_sum_ms resolution_sum_ms resolution_business_sum_ms"
).split()

JOURNEY = """
INSERT INTO report_contact_journey (workspace_id, contact_id, first_hour, first_channel, last_hour,
    conversations, csat_n, csat_pos, nps_n, nps_promoters, nps_detractors)
SELECT s.workspace_id, s.contact_id,
       min(s.hour) FILTER (WHERE s.conversations > 0),
       (array_agg(s.channel ORDER BY s.hour, s.channel) FILTER (WHERE s.conversations > 0))[1],
       max(s.hour) FILTER (WHERE s.conversations > 0),
       sum(s.conversations), sum(s.csat_n), sum(s.csat_pos), sum(s.nps_n), sum(s.nps_promoters),
       sum(s.nps_detractors)
  FROM report_facts s WHERE s.contact_id IS NOT NULL
 GROUP BY 1, 2
"""

TRIGGER = """
CREATE FUNCTION sodam_agent_availability_log() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_at timestamptz;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.availability = NEW.availability THEN
        RETURN NULL;
    END IF;
    -- Never before the agent's last recorded change: a change back-dated to a dead process's
    -- last heartbeat cannot reorder the history.
    SELECT max(at) INTO last_at FROM agent_availability_log WHERE agent_id = NEW.agent_id;
    INSERT INTO agent_availability_log (workspace_id, agent_id, availability, at)
    VALUES (NEW.workspace_id, NEW.agent_id, NEW.availability::text,
            greatest(coalesce(NEW.changed_at, now()), coalesce(last_at, '-infinity')));
    RETURN NULL;
END
$$;
CREATE TRIGGER agent_availability_log AFTER INSERT OR UPDATE OF availability ON agent_states
    FOR EACH ROW EXECUTE FUNCTION sodam_agent_availability_log();
"""


def upgrade() -> None:
    op.alter_column("report_hourly_dim", "dim", type_=sa.String(40), existing_nullable=False)
    op.alter_column("report_contact_activity", "dim", type_=sa.String(40), existing_nullable=False)
    sums = ", ".join(f"sum(s.{c})" for c in COUNTERS)
    op.execute(
        f"INSERT INTO report_hourly_dim (workspace_id, dim, value, hour, {', '.join(COUNTERS)})"
        f" SELECT s.workspace_id, d.dim, d.value, s.hour, {sums} FROM report_hourly s {PAIRS} GROUP BY 1, 2, 3, 4"
    )
    op.execute(
        "INSERT INTO report_contact_activity (workspace_id, contact_id, dim, value, hour, next_hour, conversations)"
        " SELECT workspace_id, contact_id, dim, value, hour,"
        "  lead(hour) OVER (PARTITION BY workspace_id, contact_id, dim, value ORDER BY hour), n"
        " FROM (SELECT s.workspace_id, s.contact_id, d.dim, d.value, s.hour, sum(s.conversations)::int AS n"
        f"  FROM report_facts s {PAIRS} WHERE s.conversations > 0 AND s.contact_id IS NOT NULL"
        "  GROUP BY 1, 2, 3, 4, 5) a"
    )
    op.execute(
        "CREATE INDEX ix_report_facts_agent_started ON report_facts (workspace_id, agent_id, hour)"
        " INCLUDE (contact_id, inbox_id, channel, team_id, language) WHERE conversations > 0"
    )
    op.create_table(
        "report_contact_journey",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), primary_key=True),
        sa.Column("first_hour", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_channel", sa.String(20), nullable=True),
        sa.Column("last_hour", sa.DateTime(timezone=True), nullable=True),
        *[
            sa.Column(c, sa.Integer(), nullable=False, server_default="0")
            for c in ("conversations", "csat_n", "csat_pos", "nps_n", "nps_promoters", "nps_detractors")
        ],
    )
    op.create_index(
        "ix_report_contact_journey_first", "report_contact_journey", ["workspace_id", "first_hour"]
    )
    op.execute(JOURNEY)
    # One customer's journey lists the campaigns they were sent (by contact).
    op.create_index("ix_campaign_recipients_contact", "campaign_recipients", ["contact_id"])
    op.create_table(
        "agent_availability_log",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            sa.BigInteger(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("availability", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_availability_log_agent_at", "agent_availability_log", ["agent_id", "at"])
    op.create_index("ix_agent_availability_log_ws_at", "agent_availability_log", ["workspace_id", "at"])
    op.execute(
        "INSERT INTO agent_availability_log (workspace_id, agent_id, availability, at)"
        " SELECT workspace_id, agent_id, availability::text, changed_at FROM agent_states"
    )
    op.execute(TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS agent_availability_log ON agent_states")
    op.execute("DROP FUNCTION IF EXISTS sodam_agent_availability_log()")
    op.drop_table("agent_availability_log")
    op.drop_index("ix_campaign_recipients_contact", table_name="campaign_recipients")
    op.drop_table("report_contact_journey")
    op.drop_index("ix_report_facts_agent_started", table_name="report_facts")
    op.execute("DELETE FROM report_hourly_dim WHERE dim LIKE '%+%'")
    op.execute("DELETE FROM report_contact_activity WHERE dim LIKE '%+%'")
    op.alter_column("report_contact_activity", "dim", type_=sa.String(12), existing_nullable=False)
    op.alter_column("report_hourly_dim", "dim", type_=sa.String(12), existing_nullable=False)
