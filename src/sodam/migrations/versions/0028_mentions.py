"""social mentions taken in through API inboxes, and the hourly alerts sent about them

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02

- `mentions`: one public post about the company (platform, author, link, text, when), unique
  per (inbox, the platform's post id) so a repeated POST is the same mention; its sentiment
  is written by a job; `status` new / converted (with its conversation) / dismissed.
- `mention_alerts`: at most one per (inbox, clock hour): the 매니저 are told once when that
  hour's negative mentions reach the inbox's threshold.
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mentions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(40), nullable=False),
        sa.Column("author_handle", sa.String(200), nullable=False),
        sa.Column("author_name", sa.String(200)),
        sa.Column("url", sa.String(2000)),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("sentiment_score", sa.Float()),
        sa.Column("sentiment_label", sa.String(10)),
        sa.Column("status", sa.String(12), nullable=False, server_default="new"),
        sa.Column("conversation_id", sa.BigInteger(), sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("inbox_id", "external_id", name="uq_mentions_inbox_external"),
    )
    op.create_index("ix_mentions_workspace_id", "mentions", ["workspace_id"])
    op.create_index("ix_mentions_workspace_recent", "mentions", ["workspace_id", "id"])
    # The alert's count: negative mentions of an inbox in the last hour.
    op.create_index(
        "ix_mentions_negative_recent",
        "mentions",
        ["inbox_id", "created_at"],
        postgresql_where=sa.text("sentiment_label = 'negative'"),
    )
    op.create_table(
        "mention_alerts",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("negative_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("inbox_id", "hour", name="uq_mention_alerts_inbox_hour"),
    )
    op.create_index("ix_mention_alerts_workspace_id", "mention_alerts", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("mention_alerts")
    op.drop_table("mentions")
