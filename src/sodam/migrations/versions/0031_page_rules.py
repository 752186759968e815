"""suggestions by page: page rules and what the widget reports about them

Revision ID: 0031
Revises: 0022
Create Date: 2026-12-05

- `page_rules`: per workspace (optionally one inbox): a URL pattern (glob / prefix / contains /
  a checked regex), seconds on the page, exit intent, a ko/en message and help articles (picked,
  or the knowledge base's top matches for the page), how the widget shows it (open the panel or a
  prompt bubble) and a frequency cap in hours.
- `page_rule_events`: what the widget reports (`shown`, `clicked_article`, `opened_chat`), per
  anonymous visitor key (a random id the widget keeps; page views are not contacts) and, once
  the visitor has a chat session, their contact; reach and "needed no agent" are counted from it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0031"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_rules",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("match_type", sa.String(16), nullable=False),
        sa.Column("pattern", sa.String(500), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("exit_intent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("display", sa.String(16), nullable=False, server_default="bubble"),
        sa.Column("message", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("article_mode", sa.String(16), nullable=False, server_default="none"),
        sa.Column(
            "article_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False, server_default=sa.text("'{}'")
        ),
        sa.Column("search_query", sa.String(200), nullable=True),
        sa.Column("cap_hours", sa.Integer(), nullable=False, server_default="24"),
        sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_page_rules_workspace_name"),
        sa.CheckConstraint("match_type IN ('glob', 'prefix', 'contains', 'regex')", name="ck_page_rules_match_type"),
        sa.CheckConstraint("display IN ('open', 'bubble')", name="ck_page_rules_display"),
        sa.CheckConstraint("article_mode IN ('none', 'pick', 'auto')", name="ck_page_rules_article_mode"),
        sa.CheckConstraint("seconds BETWEEN 0 AND 3600", name="ck_page_rules_seconds"),
        sa.CheckConstraint("cap_hours BETWEEN 1 AND 8760", name="ck_page_rules_cap_hours"),
    )
    op.create_index("ix_page_rules_workspace_id", "page_rules", ["workspace_id"])
    op.create_table(
        "page_rule_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rule_id", sa.BigInteger(), sa.ForeignKey("page_rules.id", ondelete="CASCADE"), nullable=False),
        sa.Column("inbox_id", sa.BigInteger(), sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("visitor_key", sa.String(64), nullable=False),
        # Erasing a contact keeps the anonymous count (SET NULL), never who it was.
        sa.Column("contact_id", sa.BigInteger(), sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('shown', 'clicked_article', 'opened_chat')", name="ck_page_rule_events_kind"),
    )
    op.create_index("ix_page_rule_events_rule_kind_at", "page_rule_events", ["rule_id", "kind", "created_at"])
    op.create_index("ix_page_rule_events_ws_visitor", "page_rule_events", ["workspace_id", "visitor_key"])
    op.create_index("ix_page_rule_events_contact_id", "page_rule_events", ["contact_id"])


def downgrade() -> None:
    op.drop_table("page_rule_events")
    op.drop_table("page_rules")
