"""co-browsing: the session log and the workspace's masking settings

Revision ID: 0037
Revises: 0038
Create Date: 2026-12-03

- `cobrowse_sessions`: one row per co-browsing request (who asked, the customer's answer,
  start, end, who ended it). The mirrored page is relayed over the sockets, never stored.
- `cobrowse_settings`: per workspace, on/off and the extra CSS selectors masked in the
  customer's browser.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0037"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cobrowse_sessions",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id", sa.BigInteger, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "conversation_id",
            sa.BigInteger,
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("inbox_id", sa.BigInteger, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger, sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("requested_by", sa.BigInteger, sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False, server_default="requested"),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("ended_by", sa.String(16)),
        sa.Column("ended_by_agent_id", sa.BigInteger),
        sa.Column("end_reason", sa.String(40)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_cobrowse_sessions_workspace_id", "cobrowse_sessions", ["workspace_id"])
    op.create_index("ix_cobrowse_sessions_conversation", "cobrowse_sessions", ["conversation_id", "id"])
    op.create_index(
        "ix_cobrowse_sessions_contact", "cobrowse_sessions", ["workspace_id", "contact_id", "created_at"]
    )
    op.create_index(
        "uq_cobrowse_sessions_open",
        "cobrowse_sessions",
        ["conversation_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('requested', 'active')"),
    )
    op.create_table(
        "cobrowse_settings",
        sa.Column(
            "workspace_id",
            sa.BigInteger,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("mask_selectors", JSONB, nullable=False, server_default="[]"),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cobrowse_settings")
    op.drop_table("cobrowse_sessions")
