"""agent assist: past agent replies paired with the question they answered, and the daily
shown / inserted counters of the assist panel

Revision ID: 0034
Revises: 0029
Create Date: 2026-12-03

- `assist_replies`: one row per agent answer of a resolved conversation (unique on its first
  message), the customer's words it answered, the locale and the e5 query vector of the
  question (`real[]`, NULL until the indexing job encoded it). Written only by the
  `assist.index_conversation` job; read whole per workspace into each process's index.
- `assist_usage`: (workspace, day, kind) → shown, inserted; upserted by the console's panel.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, REAL

revision = "0034"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assist_replies",
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
        sa.Column(
            "reply_message_id",
            sa.BigInteger,
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("vector", ARRAY(REAL)),
        sa.Column("model", sa.String(40)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("reply_message_id", name="uq_assist_replies_reply_message_id"),
    )
    op.create_index("ix_assist_replies_workspace_id", "assist_replies", ["workspace_id"])
    op.create_index("ix_assist_replies_ws_id", "assist_replies", ["workspace_id", "id"])
    op.create_index("ix_assist_replies_conversation_id", "assist_replies", ["conversation_id"])
    op.create_table(
        "assist_usage",
        sa.Column(
            "workspace_id",
            sa.BigInteger,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("shown", sa.Integer, nullable=False, server_default="0"),
        sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("assist_usage")
    op.drop_table("assist_replies")
