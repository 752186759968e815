"""bot learning: proposals from agents' answers to handed-off questions; bot feedback counters

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "bot_learning_proposals"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_message_id", sa.BigInteger(), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('alternate_question', 'draft_article')", name=f"ck_{TABLE}_kind"),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name=f"ck_{TABLE}_status"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=f"fk_{TABLE}_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=f"fk_{TABLE}_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=f"fk_{TABLE}_agent_id_agents", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name=f"fk_{TABLE}_article_id_kb_articles", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["agents.id"], name=f"fk_{TABLE}_decided_by_agents", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_workspace_id", TABLE, ["workspace_id"])
    op.create_index(f"ix_{TABLE}_article_id", TABLE, ["article_id"])
    op.create_index(f"uq_{TABLE}_conversation", TABLE, ["conversation_id"], unique=True)
    op.create_index(f"ix_{TABLE}_ws_status", TABLE, ["workspace_id", "status", "id"])
    # The bot's "도움이 되었나요?" answers per article: they feed search ranking with the votes.
    op.add_column(
        "kb_articles", sa.Column("bot_confirmed_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "kb_articles", sa.Column("bot_unhelpful_count", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("kb_articles", "bot_unhelpful_count")
    op.drop_column("kb_articles", "bot_confirmed_count")
    op.drop_table(TABLE)
