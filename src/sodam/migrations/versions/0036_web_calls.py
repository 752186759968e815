"""browser calls: video and voice calls over WebRTC between a widget customer and an agent

Revision ID: 0036
Revises: 0034
Create Date: 2026-12-04

- `web_calls`: one row per call (started by an agent, requested by the customer or booked at a
  slot) on one conversation: kind (video | voice), status, outcome (completed | declined |
  missed | failed), when it rang, was answered and ended, its duration. Signalling (SDP, ICE)
  is never stored: it passes through the sockets only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    def fk(table: str, ondelete: str = "CASCADE"):
        return sa.ForeignKey(f"{table}.id", ondelete=ondelete)

    op.create_table(
        "web_calls",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger, fk("workspaces"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger, fk("conversations"), nullable=False),
        sa.Column("inbox_id", sa.BigInteger, fk("inboxes"), nullable=False),
        sa.Column("contact_id", sa.BigInteger, fk("contacts"), nullable=False),
        sa.Column("agent_id", sa.BigInteger, fk("agents", "SET NULL")),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("initiator", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(12)),
        sa.Column("scheduled_at", sa.DateTime(timezone=True)),
        sa.Column("ringing_at", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("alive_at", sa.DateTime(timezone=True)),
        sa.Column("reminded_at", sa.DateTime(timezone=True)),
        sa.Column("duration_s", sa.Integer),
        sa.Column("ended_by", sa.String(8)),
        sa.Column("language", sa.String(8), nullable=False, server_default="ko"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('video', 'voice')", name="ck_web_calls_kind"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'ringing', 'active', 'ended', 'cancelled')", name="ck_web_calls_status"
        ),
    )
    op.create_index("ix_web_calls_workspace_id", "web_calls", ["workspace_id"])
    op.create_index("ix_web_calls_conversation", "web_calls", ["conversation_id", "id"])
    op.create_index("ix_web_calls_contact", "web_calls", ["contact_id", "created_at"])
    op.create_index("ix_web_calls_inbox_slot", "web_calls", ["inbox_id", "scheduled_at"])
    # The minute's sweep reads only the calls still in play (connected or booked).
    op.create_index(
        "ix_web_calls_in_play",
        "web_calls",
        ["status", "scheduled_at"],
        postgresql_where=sa.text("status IN ('active', 'scheduled')"),
    )


def downgrade() -> None:
    op.drop_table("web_calls")
