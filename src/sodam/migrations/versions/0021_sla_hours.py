"""SLA policies and due times on the conversation; business hours per team

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-02

- teams.business_hours: a team's own hours (same shape as an inbox's; NULL = the inbox's).
- sla_policies: per workspace, first-response / next-response / resolution targets by
  priority and contact tier, in business or calendar hours; one default per workspace,
  others for a list of inboxes.
- conversations.first_response_due_at / next_response_due_at / resolution_due_at /
  sla_policy_id: the stored due times (the console sorts and colours by them, routing
  orders its queue by them); sla_clocks holds each clock's start, due, warn time and
  whether it was breached; sla_awaiting_customer: an agent has answered and the
  next-response clock starts at the customer's next message.
- Triggers defer the job `sla.recompute` (lock per conversation) when a conversation enters
  the human queue, changes priority or status, when an agent replies while a response
  clock runs, at the first customer message after an agent's reply — one primary-key
  look-up on the message path, nothing computed there — and when a contact's tier changes.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None

DEFER = """PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW('default', 'sla.recompute', 0,
                'sla:' || {id}, NULL, jsonb_build_object('conversation_id', {id}), NULL
            )::procrastinate_job_to_defer_v1])"""


def upgrade() -> None:
    op.add_column("teams", sa.Column("business_hours", JSONB(), nullable=True))
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("business_hours", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("inbox_ids", ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        sa.Column("targets", JSONB(), nullable=False, server_default="[]"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_sla_policies_workspace_name"),
    )
    op.create_index("ix_sla_policies_workspace_id", "sla_policies", ["workspace_id"])
    op.create_index(
        "uq_sla_policies_default",
        "sla_policies",
        ["workspace_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    for name in ("first_response_due_at", "next_response_due_at", "resolution_due_at"):
        op.add_column("conversations", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "conversations",
        sa.Column("sla_policy_id", sa.BigInteger(), sa.ForeignKey("sla_policies.id", ondelete="SET NULL")),
    )
    op.add_column("conversations", sa.Column("sla_clocks", JSONB(), nullable=False, server_default="{}"))
    op.add_column(
        "conversations",
        sa.Column("sla_awaiting_customer", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "CREATE INDEX ix_conversations_sla_due ON conversations (workspace_id,"
        " least(first_response_due_at, next_response_due_at, resolution_due_at))"
        " WHERE status <> 'resolved'"
    )
    op.execute(
        f"""
        CREATE FUNCTION sodam_sla_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NEW.queued_at IS NULL THEN RETURN NULL; END IF;
            ELSIF NEW.queued_at IS NOT DISTINCT FROM OLD.queued_at
                  AND NEW.priority = OLD.priority AND NEW.status = OLD.status
                  AND NEW.bot_handling = OLD.bot_handling THEN
                RETURN NULL;
            END IF;
            IF NEW.sla_policy_id IS NOT NULL
               OR EXISTS (SELECT 1 FROM sla_policies WHERE workspace_id = NEW.workspace_id) THEN
                {DEFER.format(id="NEW.id")};
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER conversations_sla AFTER INSERT OR UPDATE OF queued_at, priority, status, bot_handling
            ON conversations FOR EACH ROW EXECUTE FUNCTION sodam_sla_conversation_changed();

        CREATE FUNCTION sodam_sla_message() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.sender_type = 'agent' THEN
                PERFORM 1 FROM conversations WHERE id = NEW.conversation_id
                   AND (first_response_due_at IS NOT NULL OR next_response_due_at IS NOT NULL);
            ELSE
                UPDATE conversations SET sla_awaiting_customer = false
                 WHERE id = NEW.conversation_id AND sla_awaiting_customer;
            END IF;
            IF FOUND THEN
                {DEFER.format(id="NEW.conversation_id")};
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER messages_sla AFTER INSERT ON messages
            FOR EACH ROW WHEN (NEW.kind = 'text' AND NEW.sender_type IN ('agent', 'contact'))
            EXECUTE FUNCTION sodam_sla_message();

        CREATE FUNCTION sodam_sla_contact_tier() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            conv bigint;
        BEGIN
            FOR conv IN SELECT id FROM conversations
                         WHERE contact_id = NEW.id AND status <> 'resolved' AND sla_policy_id IS NOT NULL
            LOOP
                {DEFER.format(id="conv")};
            END LOOP;
            RETURN NULL;
        END $$;
        CREATE TRIGGER contacts_sla_tier AFTER UPDATE OF custom_attributes ON contacts
            FOR EACH ROW WHEN (OLD.custom_attributes->>'tier' IS DISTINCT FROM NEW.custom_attributes->>'tier')
            EXECUTE FUNCTION sodam_sla_contact_tier();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS contacts_sla_tier ON contacts")
    op.execute("DROP FUNCTION IF EXISTS sodam_sla_contact_tier()")
    op.execute("DROP TRIGGER IF EXISTS messages_sla ON messages")
    op.execute("DROP FUNCTION IF EXISTS sodam_sla_message()")
    op.execute("DROP TRIGGER IF EXISTS conversations_sla ON conversations")
    op.execute("DROP FUNCTION IF EXISTS sodam_sla_conversation_changed()")
    op.execute("DROP INDEX IF EXISTS ix_conversations_sla_due")
    for name in ("sla_awaiting_customer", "sla_clocks", "sla_policy_id", "resolution_due_at",
                 "next_response_due_at", "first_response_due_at"):
        op.drop_column("conversations", name)
    op.drop_table("sla_policies")
    op.drop_column("teams", "business_hours")
