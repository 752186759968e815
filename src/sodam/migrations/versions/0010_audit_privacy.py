"""audit log and privacy: an append-only audit log, per-workspace retention settings,
and redaction of the conversation event log on erasure

Revision ID: 0010
Revises: 0011
Create Date: 2026-11-26

audit_log refuses UPDATE, DELETE and TRUNCATE (a cascade from deleting the whole
workspace still passes). conversation_events stays append-only too, except that
an erasure or retention transaction (SET LOCAL sodam.redaction = 'on') may replace
the `data` of an entry, and nothing else: the entry keeps that it happened.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("token_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("details", sa.dialects.postgresql.JSONB(), server_default="{}", nullable=False),
        sa.CheckConstraint("actor_type IN ('agent', 'token', 'system')", name="actor_type"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_audit_log_workspace_id_workspaces", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_ws_id", "audit_log", ["workspace_id", "id"])
    op.create_index("ix_audit_log_ws_target", "audit_log", ["workspace_id", "target_type", "target_id", "id"])
    op.create_index("ix_audit_log_ws_action", "audit_log", ["workspace_id", "action", "id"])
    op.create_index("ix_audit_log_ws_agent", "audit_log", ["workspace_id", "agent_id", "id"])
    op.execute("""
        CREATE FUNCTION sodam_audit_log_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
                RETURN OLD;  -- the workspace itself is being deleted
            END IF;
            RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER audit_log_append_only
        BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION sodam_audit_log_append_only()
    """)
    op.execute("""
        CREATE TRIGGER audit_log_no_truncate
        BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION sodam_audit_log_append_only()
    """)

    # Erasure may blank the data of an event (a bot hand-off carries the lead's name,
    # e-mail and phone) but never rewrite who did what when.
    op.execute("""
        CREATE OR REPLACE FUNCTION sodam_event_log_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
                RETURN OLD;
            END IF;
            IF TG_OP = 'UPDATE' AND current_setting('sodam.redaction', true) = 'on'
               AND NEW.id = OLD.id AND NEW.workspace_id = OLD.workspace_id
               AND NEW.conversation_id = OLD.conversation_id AND NEW.type = OLD.type
               AND NEW.actor_type = OLD.actor_type AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
               AND NEW.created_at = OLD.created_at THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'conversation_events is append-only';
        END $$ LANGUAGE plpgsql
    """)

    op.create_table(
        "privacy_settings",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("retention_months", sa.Integer(), nullable=True),
        sa.Column("retention_action", sa.String(length=12), server_default="anonymise", nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("retention_action IN ('delete', 'anonymise')", name="retention_action"),
        sa.CheckConstraint("retention_months IS NULL OR retention_months BETWEEN 1 AND 120", name="retention_months"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_privacy_settings_workspace_id_workspaces", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_privacy_settings"),
    )
    # Retention looks for old resolved conversations of one workspace.
    op.create_index("ix_conversations_ws_status_updated", "conversations", ["workspace_id", "status", "updated_at"])
    op.add_column("conversations", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "redacted_at")
    op.drop_index("ix_conversations_ws_status_updated", table_name="conversations")
    op.drop_table("privacy_settings")
    op.execute("""
        CREATE OR REPLACE FUNCTION sodam_event_log_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'conversation_events is append-only';
        END $$ LANGUAGE plpgsql
    """)
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS sodam_audit_log_append_only()")
    op.drop_table("audit_log")
