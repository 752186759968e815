"""API channel idempotency keys; outgoing webhooks (subscriptions, deliveries, attempts, outbox)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

- `api_idempotency_keys`: one row per (inbox, Idempotency-Key) of the API channel, holding a
  hash of the request and what it created, so a retry returns the same resource and another
  body under the same key is refused.
- `webhook_subscriptions`: a workspace's endpoints (events it wants) and API inboxes'
  callback URLs (`inbox_id` set). The secret signs deliveries; it is shown once.
- `webhook_deliveries`: one row per (subscription, event) with the exact body sent on every
  try (its `id` is the receiver's idempotency key); the delivery worker claims due rows
  with SKIP LOCKED and leases them by moving `next_attempt_at` ahead.
- `webhook_attempts`: every try (status, latency, error, the response's first bytes).
- `webhook_outbox`: events of the conversation log and new contacts, written by triggers
  in the writer's transaction only when the workspace has a subscription that wants them;
  the delivery worker turns them into deliveries (the message path never waits for it).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _ws():
    return sa.Column(
        "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _created():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


TRIGGERS = """
CREATE FUNCTION sodam_webhook_event_type(p_type text, p_data jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_type = 'conversation.created' THEN 'conversation.created'
        -- Private notes never leave Sodam.
        WHEN p_type = 'message.created' AND coalesce(p_data->>'kind', '') <> 'note' THEN 'message.created'
        WHEN p_type = 'conversation.assigned' AND p_data ? 'assignee' THEN 'conversation.assigned'
        WHEN p_type = 'status.changed' AND p_data->>'to' = 'resolved' THEN 'conversation.resolved'
    END
$$;

CREATE FUNCTION sodam_webhook_outbox_from_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_type text := sodam_webhook_event_type(NEW.type, NEW.data);
BEGIN
    -- One index probe on a small table when nobody listens: all the message path pays.
    IF v_type IS NOT NULL AND EXISTS (
        SELECT 1 FROM webhook_subscriptions s
         WHERE s.workspace_id = NEW.workspace_id AND s.inbox_id IS NULL AND s.status = 'active'
           AND v_type = ANY (s.events)) THEN
        INSERT INTO webhook_outbox (workspace_id, event_key, type, ref, occurred_at)
        VALUES (NEW.workspace_id, 'ce' || NEW.id, v_type,
                NEW.data || jsonb_build_object('conversation_id', NEW.conversation_id,
                                               'actor_type', NEW.actor_type, 'actor_id', NEW.actor_id),
                NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_outbox_from_event AFTER INSERT ON conversation_events
    FOR EACH ROW EXECUTE FUNCTION sodam_webhook_outbox_from_event();

CREATE FUNCTION sodam_webhook_outbox_from_contact() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM webhook_subscriptions s
         WHERE s.workspace_id = NEW.workspace_id AND s.inbox_id IS NULL AND s.status = 'active'
           AND 'contact.created' = ANY (s.events)) THEN
        INSERT INTO webhook_outbox (workspace_id, event_key, type, ref, occurred_at)
        VALUES (NEW.workspace_id, 'contact' || NEW.id, 'contact.created',
                jsonb_build_object('contact_id', NEW.id), NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_outbox_from_contact AFTER INSERT ON contacts
    FOR EACH ROW EXECUTE FUNCTION sodam_webhook_outbox_from_contact();
"""


def upgrade() -> None:
    op.create_table(
        "api_idempotency_keys",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        _created(),
        sa.UniqueConstraint("inbox_id", "key", name="uq_api_idempotency_keys_inbox_key"),
    )
    op.create_index("ix_api_idempotency_keys_workspace_id", "api_idempotency_keys", ["workspace_id"])

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(80), nullable=False),
        sa.Column("events", ARRAY(sa.String(60)), server_default="{}", nullable=False),
        sa.Column("description", sa.String(200), server_default="", nullable=False),
        sa.Column("status", sa.String(10), server_default="active", nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('active', 'paused')", name="status"),
    )
    op.create_index("ix_webhook_subscriptions_workspace_id", "webhook_subscriptions", ["workspace_id"])
    op.create_index(
        "uq_webhook_subscriptions_inbox",
        "webhook_subscriptions",
        ["inbox_id"],
        unique=True,
        postgresql_where=sa.text("inbox_id IS NOT NULL"),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column(
            "subscription_id",
            sa.BigInteger(),
            sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(60), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        _created(),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_webhook_deliveries_ws_id", "webhook_deliveries", ["workspace_id", "id"])
    op.create_index("ix_webhook_deliveries_sub_id", "webhook_deliveries", ["subscription_id", "id"])

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column(
            "delivery_id", sa.BigInteger(), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("response_snippet", sa.String(500), nullable=True),
        _created(),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])
    op.create_index("ix_webhook_attempts_workspace_id", "webhook_attempts", ["workspace_id"])

    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _ws(),
        sa.Column("event_key", sa.String(60), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("ref", JSONB(), server_default="{}", nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS webhook_outbox_from_contact ON contacts")
    op.execute("DROP TRIGGER IF EXISTS webhook_outbox_from_event ON conversation_events")
    op.execute("DROP FUNCTION IF EXISTS sodam_webhook_outbox_from_contact()")
    op.execute("DROP FUNCTION IF EXISTS sodam_webhook_outbox_from_event()")
    op.execute("DROP FUNCTION IF EXISTS sodam_webhook_event_type(text, jsonb)")
    for table in ("webhook_outbox", "webhook_attempts", "webhook_deliveries", "webhook_subscriptions"):
        op.drop_table(table)
    op.drop_table("api_idempotency_keys")
