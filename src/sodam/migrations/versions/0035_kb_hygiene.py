"""knowledge-base hygiene: category templates, review-by dates, last views, the workspace's
knowledge settings (video allow-list, review period, staleness thresholds) and the weekly
stale-article reminders sent

Revision ID: 0035
Revises: 0029
Create Date: 2026-12-12

- `kb_categories.template`: {"ko": markdown, "en": markdown}; a new article in the category
  starts from it.
- `kb_articles.review_by`: when the article should be looked at again (set on save);
  existing articles get `updated_at` + 180 days.
- `kb_articles.last_viewed_at`: the help center's last view (the "no views in N days" signal).
- `kb_settings`: one row per workspace (absent: the defaults in knowledge/settings.py).
- `kb_review_reminders`: one row per (workspace, owner, week): the weekly job's "sent once".
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0035"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "kb_categories", sa.Column("template", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb"))
    )
    op.add_column("kb_articles", sa.Column("review_by", sa.DateTime(timezone=True), nullable=True))
    op.add_column("kb_articles", sa.Column("last_viewed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE kb_articles SET review_by = updated_at + interval '180 days'")
    op.create_index("ix_kb_articles_workspace_review_by", "kb_articles", ["workspace_id", "review_by"])
    op.create_table(
        "kb_settings",
        sa.Column(
            "workspace_id",
            sa.BigInteger(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        # NULL: the default allow-list (YouTube, youtube-nocookie, Vimeo).
        sa.Column("video_hosts", ARRAY(sa.String(253)), nullable=True),
        sa.Column("review_days", sa.Integer(), nullable=False, server_default="180"),
        sa.Column("stale_view_days", sa.Integer(), nullable=False, server_default="90"),
        sa.Column("min_downvotes", sa.Integer(), nullable=False, server_default="3"),
        sa.Column("handoff_days", sa.Integer(), nullable=False, server_default="30"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_table(
        "kb_review_reminders",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            sa.BigInteger(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("article_ids", ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.UniqueConstraint("workspace_id", "agent_id", "week", name="uq_kb_review_reminders_week"),
    )


def downgrade() -> None:
    op.drop_table("kb_review_reminders")
    op.drop_table("kb_settings")
    op.drop_index("ix_kb_articles_workspace_review_by", table_name="kb_articles")
    op.drop_column("kb_articles", "last_viewed_at")
    op.drop_column("kb_articles", "review_by")
    op.drop_column("kb_categories", "template")
