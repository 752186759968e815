"""routing: agents' availability, capacity and skills; routing rules; the queue's order

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-02

- agent_states: one row per agent — availability (online / busy / away / offline) and whether
  the agent chose it, last activity, wrap-up end, last assignment (the longest-idle tie-break),
  capacity per channel ({"default": 3, "email": 8}).
- agent_presence: console sockets per agent per serving process (with a heartbeat), so
  "offline when the last console tab closes" holds with several processes.
- agent_skills: (agent, skill, level 1-5); skills are "lang:ko", "topic:refund", "product:x", "vip".
- routing_rules: page-URL and keyword (Korean morpheme) rules that require a skill and/or a team.
- teams.routing_method: least_busy (default) or round_robin.
- conversations: queue_rank (VIP / SLA-at-risk / priority; the queue is FIFO within a rank),
  route (what routing decided and why), assigned_at, skipped_agent_ids (agents that did not
  answer in time or went offline: not offered the same conversation again).
- A trigger defers the routing job of the workspace whenever a conversation starts waiting
  for a person, whichever path put it there (a new conversation, the bot's handoff, an
  unassignment, a re-route), in the same transaction.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _agent(primary_key: bool = False):
    return sa.Column(
        "agent_id",
        sa.BigInteger(),
        sa.ForeignKey("agents.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    availability = sa.Enum("online", "busy", "away", "offline", name="agent_availability")
    op.create_table(
        "agent_states",
        _agent(primary_key=True),
        _ws(),
        sa.Column("availability", availability, nullable=False, server_default="offline"),
        sa.Column("chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_activity_at", sa.DateTime(timezone=True)),
        sa.Column("wrap_up_until", sa.DateTime(timezone=True)),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True)),
        sa.Column("capacity", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index("ix_agent_states_workspace_id", "agent_states", ["workspace_id"])
    op.create_table(
        "agent_presence",
        _agent(primary_key=True),
        _ws(),
        sa.Column("process_key", sa.String(80), primary_key=True),
        sa.Column("sockets", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "agent_skills",
        _agent(primary_key=True),
        _ws(),
        sa.Column("skill", sa.String(80), primary_key=True),
        sa.Column("level", sa.SmallInteger(), nullable=False, server_default="3"),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
    )
    op.create_index("ix_agent_skills_workspace_id", "agent_skills", ["workspace_id"])
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("pattern", sa.String(300), nullable=False),
        sa.Column("skill", sa.String(80)),
        sa.Column("team_id", sa.BigInteger(), sa.ForeignKey("teams.id", ondelete="CASCADE")),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('page', 'keyword')", name="kind_known"),
        sa.CheckConstraint("skill IS NOT NULL OR team_id IS NOT NULL", name="does_something"),
    )
    op.create_index("ix_routing_rules_workspace_id", "routing_rules", ["workspace_id"])
    op.add_column(
        "teams", sa.Column("routing_method", sa.String(20), nullable=False, server_default="least_busy")
    )
    op.add_column("conversations", sa.Column("queue_rank", sa.SmallInteger(), nullable=False, server_default="0"))
    op.add_column("conversations", sa.Column("route", JSONB()))
    op.add_column("conversations", sa.Column("assigned_at", sa.DateTime(timezone=True)))
    op.add_column(
        "conversations",
        sa.Column("skipped_agent_ids", ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
    )
    # The queue in routing order; and each agent's open load.
    op.create_index(
        "ix_conversations_routing_queue",
        "conversations",
        ["workspace_id", sa.text("queue_rank DESC"), "queued_at", "id"],
        postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL AND NOT bot_handling"),
    )
    op.create_index(
        "ix_conversations_open_load",
        "conversations",
        ["assignee_id", "inbox_id"],
        postgresql_where=sa.text("status = 'open' AND assignee_id IS NOT NULL"),
    )
    op.execute(
        """
        CREATE FUNCTION sodam_routing_defer(p_workspace bigint, p_at timestamptz, p_dedupe boolean)
        RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            -- One pending routing job per workspace is enough: it routes the whole queue.
            PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
                'routing', 'routing.dispatch', 0, 'routing-' || p_workspace,
                CASE WHEN p_dedupe THEN 'routing-' || p_workspace END,
                jsonb_build_object('workspace_id', p_workspace), p_at
            )::procrastinate_job_to_defer_v1]);
        EXCEPTION WHEN unique_violation THEN
            NULL;
        END $$;

        CREATE FUNCTION sodam_routing_kick() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            v_wrap integer;
        BEGIN
            -- Started waiting for a person (new, handed off by the bot, unassigned, reopened).
            IF NEW.status = 'open' AND NEW.assignee_id IS NULL AND NOT NEW.bot_handling
               AND NEW.queued_at IS NOT NULL
               AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'open'
                    OR OLD.assignee_id IS NOT NULL OR OLD.bot_handling
                    OR OLD.queued_at IS DISTINCT FROM NEW.queued_at) THEN
                PERFORM sodam_routing_defer(NEW.workspace_id, NULL, true);
                RETURN NULL;
            END IF;
            IF TG_OP = 'UPDATE' AND OLD.status = 'open' AND OLD.assignee_id IS NOT NULL
               AND (NEW.status <> 'open' OR NEW.assignee_id IS DISTINCT FROM OLD.assignee_id) THEN
                -- After-contact work: no new conversation for the inbox's wrap-up seconds.
                IF NEW.status = 'resolved' THEN
                    SELECT coalesce((settings->>'wrap_up_seconds')::integer, 0) INTO v_wrap
                      FROM inboxes WHERE id = NEW.inbox_id;
                    IF v_wrap > 0 THEN
                        UPDATE agent_states
                           SET wrap_up_until = greatest(coalesce(wrap_up_until, now()),
                                                        now() + make_interval(secs => v_wrap))
                         WHERE agent_id = OLD.assignee_id;
                        PERFORM sodam_routing_defer(
                            NEW.workspace_id, now() + make_interval(secs => v_wrap), false);
                    END IF;
                END IF;
                -- A place freed up: route if anyone is waiting.
                IF EXISTS (SELECT 1 FROM conversations c
                            WHERE c.workspace_id = NEW.workspace_id AND c.status = 'open'
                              AND c.assignee_id IS NULL AND NOT c.bot_handling) THEN
                    PERFORM sodam_routing_defer(NEW.workspace_id, NULL, true);
                END IF;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER conversations_routing_kick
            AFTER INSERT OR UPDATE OF status, assignee_id, bot_handling, queued_at ON conversations
            FOR EACH ROW EXECUTE FUNCTION sodam_routing_kick();
        """
    )
    # Every existing agent gets a state row (offline until their console connects).
    op.execute(
        "INSERT INTO agent_states (agent_id, workspace_id) SELECT id, workspace_id FROM agents"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS conversations_routing_kick ON conversations")
    op.execute("DROP FUNCTION IF EXISTS sodam_routing_kick()")
    op.execute("DROP FUNCTION IF EXISTS sodam_routing_defer(bigint, timestamptz, boolean)")
    op.drop_index("ix_conversations_open_load", table_name="conversations")
    op.drop_index("ix_conversations_routing_queue", table_name="conversations")
    for column in ("skipped_agent_ids", "assigned_at", "route", "queue_rank"):
        op.drop_column("conversations", column)
    op.drop_column("teams", "routing_method")
    op.drop_table("routing_rules")
    op.drop_table("agent_skills")
    op.drop_table("agent_presence")
    op.drop_table("agent_states")
    sa.Enum(name="agent_availability").drop(op.get_bind(), checkfirst=True)
