"""bot: per-conversation bot state and strictly counted outcome

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATES = ("listening", "awaiting_feedback", "offering_choices", "collecting_lead", "handed_off", "resolved")
OUTCOMES = ("confirmed", "assumed", "handed_off")


def upgrade() -> None:
    op.create_table(
        "bot_conversations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Enum(*STATES, name="bot_state"), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("intent", sa.String(length=80), nullable=True),
        sa.Column("last_question", sa.Text(), nullable=True),
        sa.Column("answered_article_id", sa.BigInteger(), nullable=True),
        sa.Column("offered_article_ids", postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False),
        sa.Column("lead", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("lead_pending", postgresql.ARRAY(sa.String(length=20)), server_default="{}", nullable=False),
        sa.Column("handoff_reason", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.Enum(*OUTCOMES, name="bot_outcome"), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_bot_conversations_workspace_id_workspaces", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_bot_conversations_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bot_conversations"),
    )
    op.create_index("ix_bot_conversations_workspace_id", "bot_conversations", ["workspace_id"])
    op.create_index("uq_bot_conversations_conversation", "bot_conversations", ["conversation_id"], unique=True)
    op.create_index("ix_bot_conversations_ws_outcome", "bot_conversations", ["workspace_id", "outcome", "outcome_at"])


def downgrade() -> None:
    op.drop_table("bot_conversations")
    op.execute("DROP TYPE IF EXISTS bot_state")
    op.execute("DROP TYPE IF EXISTS bot_outcome")
