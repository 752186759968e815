"""knowledge base: categories, articles, alternate questions, votes, search log

Revision ID: 0003
Revises: 0002b
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002b"
branch_labels = None
depends_on = None


def _ws_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "kb_categories",
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        _ws_fk("kb_categories"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_categories"),
        sa.UniqueConstraint("workspace_id", "slug", name="uq_kb_categories_workspace_slug"),
    )
    op.create_index("ix_kb_categories_workspace_id", "kb_categories", ["workspace_id"])

    op.create_table(
        "kb_articles",
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("helpful_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("not_helpful_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published')", name="ck_kb_articles_status"),
        sa.CheckConstraint("locale IN ('ko', 'en')", name="ck_kb_articles_locale"),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name="fk_kb_articles_category_id_kb_categories",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["agents.id"], name="fk_kb_articles_author_id_agents", ondelete="SET NULL"
        ),
        _ws_fk("kb_articles"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_articles"),
    )
    op.create_index("ix_kb_articles_workspace_id", "kb_articles", ["workspace_id"])
    op.create_index("ix_kb_articles_category_id", "kb_articles", ["category_id"])
    op.create_index("ix_kb_articles_workspace_status", "kb_articles", ["workspace_id", "status"])

    op.create_table(
        "kb_alternate_questions",
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name="fk_kb_alternate_questions_article_id_kb_articles",
            ondelete="CASCADE",
        ),
        _ws_fk("kb_alternate_questions"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_alternate_questions"),
    )
    op.create_index("ix_kb_alternate_questions_workspace_id", "kb_alternate_questions", ["workspace_id"])
    op.create_index("ix_kb_alternate_questions_article_id", "kb_alternate_questions", ["article_id"])

    op.create_table(
        "kb_votes",
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("visitor", sa.String(length=64), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name="fk_kb_votes_article_id_kb_articles", ondelete="CASCADE"
        ),
        _ws_fk("kb_votes"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_votes"),
        sa.UniqueConstraint("article_id", "visitor", name="uq_kb_votes_article_visitor"),
    )
    op.create_index("ix_kb_votes_workspace_id", "kb_votes", ["workspace_id"])

    op.create_table(
        "kb_searches",
        sa.Column("query", sa.String(length=500), nullable=False),
        sa.Column("normalized", sa.String(length=500), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("top_article_id", sa.BigInteger(), nullable=True),
        sa.Column("clicked_article_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["top_article_id"],
            ["kb_articles.id"],
            name="fk_kb_searches_top_article_id_kb_articles",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clicked_article_id"],
            ["kb_articles.id"],
            name="fk_kb_searches_clicked_article_id_kb_articles",
            ondelete="SET NULL",
        ),
        _ws_fk("kb_searches"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_searches"),
    )
    op.create_index("ix_kb_searches_workspace_id", "kb_searches", ["workspace_id"])
    op.create_index("ix_kb_searches_workspace_created", "kb_searches", ["workspace_id", "created_at"])


def downgrade() -> None:
    for table in ("kb_searches", "kb_votes", "kb_alternate_questions", "kb_articles", "kb_categories"):
        op.drop_table(table)
