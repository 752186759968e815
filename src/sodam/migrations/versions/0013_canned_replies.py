"""canned replies (자주 쓰는 답변): personal, team and workspace answers with placeholders

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Each reply belongs to one agent, one team or the whole workspace (a check keeps the owner
columns consistent with the scope); its shortcut is unique within that owner. The
morphemes of its text are stored with it so a search analyses only the query.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.String(12), nullable=False),
        sa.Column("owner_agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=True),
        sa.Column("team_id", sa.BigInteger(), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
        sa.Column("shortcut", sa.String(60), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("updated_by_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("usage_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("search_terms", ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.CheckConstraint(
            "(scope = 'personal' AND owner_agent_id IS NOT NULL AND team_id IS NULL)"
            " OR (scope = 'team' AND team_id IS NOT NULL AND owner_agent_id IS NULL)"
            " OR (scope = 'workspace' AND owner_agent_id IS NULL AND team_id IS NULL)",
            name="ck_canned_replies_scope_owner",
        ),
    )
    op.create_index("ix_canned_replies_workspace_id", "canned_replies", ["workspace_id"])
    op.create_index("ix_canned_replies_owner_agent_id", "canned_replies", ["owner_agent_id"])
    op.create_index("ix_canned_replies_team_id", "canned_replies", ["team_id"])
    op.execute(
        "CREATE UNIQUE INDEX uq_canned_replies_shortcut ON canned_replies "
        "(workspace_id, scope, coalesce(owner_agent_id, 0), coalesce(team_id, 0), lower(shortcut))"
    )


def downgrade() -> None:
    op.drop_table("canned_replies")
