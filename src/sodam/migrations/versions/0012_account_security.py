"""account security: server-side console sessions, TOTP two-factor sign-in, recovery codes,
workspace security settings

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-02

Console sessions were a signed cookie only, so nobody could list or end one without
signing out every device. Now the cookie names a row here (only its hash is stored).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "workspaces", sa.Column("security", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False)
    )
    op.add_column("agents", sa.Column("totp_secret", sa.String(64), nullable=True))
    op.add_column("agents", sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("agents", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.Column("second_factor", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index("ix_agent_sessions_agent", "agent_sessions", ["agent_id", "revoked_at"])
    op.create_index("ix_agent_sessions_workspace_id", "agent_sessions", ["workspace_id"])
    op.create_table(
        "agent_recovery_codes",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("agent_id", "code_hash", name="uq_agent_recovery_codes_agent_hash"),
    )
    op.create_index("ix_agent_recovery_codes_workspace_id", "agent_recovery_codes", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("agent_recovery_codes")
    op.drop_table("agent_sessions")
    op.drop_column("agents", "totp_last_step")
    op.drop_column("agents", "totp_enabled_at")
    op.drop_column("agents", "totp_secret")
    op.drop_column("workspaces", "security")
