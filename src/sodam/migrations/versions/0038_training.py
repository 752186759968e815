"""training sandbox: scenarios (anonymised copies of resolved conversations), attempts, the
trainees' replies and badges

Revision ID: 0038
Revises: 0041
Create Date: 2026-12-04

- `training_scenarios`: the anonymised transcript (JSONB), the original's first-reply time,
  linked article ids and CSAT; one per source conversation (unique; SET NULL if it goes).
- `training_attempts`: one trainee playing one scenario at ×1/×2/×4; score and its parts,
  the 매니저's review.
- `training_replies`: the trainee's replies (never messages of a conversation).
- `training_badges`: (agent, badge) once each.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0038"
down_revision = "0041"
branch_labels = None
depends_on = None


def _workspace() -> sa.Column:
    return sa.Column(
        "workspace_id", sa.BigInteger, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "training_scenarios",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _workspace(),
        sa.Column(
            "source_conversation_id", sa.BigInteger, sa.ForeignKey("conversations.id", ondelete="SET NULL")
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("customer_name", sa.String(120), nullable=False),
        sa.Column("messages", JSONB, nullable=False),
        sa.Column("original_first_reply_ms", sa.BigInteger),
        sa.Column("original_article_ids", ARRAY(sa.BigInteger), nullable=False, server_default="{}"),
        sa.Column("original_csat", sa.SmallInteger),
        sa.Column("created_by", sa.BigInteger, sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_training_scenarios_workspace_id", "training_scenarios", ["workspace_id"])
    op.create_index("ix_training_scenarios_ws_id", "training_scenarios", ["workspace_id", "id"])
    op.create_index(
        "uq_training_scenarios_source", "training_scenarios", ["source_conversation_id"], unique=True
    )
    op.create_table(
        "training_attempts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _workspace(),
        sa.Column(
            "scenario_id",
            sa.BigInteger,
            sa.ForeignKey("training_scenarios.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("speed", sa.SmallInteger, nullable=False, server_default="1"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("resolved", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("first_reply_ms", sa.BigInteger),
        sa.Column("score", sa.SmallInteger),
        sa.Column("parts", JSONB),
        sa.Column("review_comment", sa.Text),
        sa.Column("praised", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("reviewed_by", sa.BigInteger, sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_training_attempts_workspace_id", "training_attempts", ["workspace_id"])
    op.create_index("ix_training_attempts_scenario_id", "training_attempts", ["scenario_id"])
    op.create_index("ix_training_attempts_ws_finished", "training_attempts", ["workspace_id", "finished_at"])
    op.create_index("ix_training_attempts_agent", "training_attempts", ["agent_id", "id"])
    op.create_table(
        "training_replies",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _workspace(),
        sa.Column(
            "attempt_id",
            sa.BigInteger,
            sa.ForeignKey("training_attempts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_training_replies_workspace_id", "training_replies", ["workspace_id"])
    op.create_index("ix_training_replies_attempt_id", "training_replies", ["attempt_id"])
    op.create_table(
        "training_badges",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _workspace(),
        sa.Column("agent_id", sa.BigInteger, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("badge", sa.String(30), nullable=False),
        sa.Column(
            "attempt_id", sa.BigInteger, sa.ForeignKey("training_attempts.id", ondelete="SET NULL")
        ),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("agent_id", "badge", name="uq_training_badges_agent_badge"),
    )
    op.create_index("ix_training_badges_workspace_id", "training_badges", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("training_badges")
    op.drop_table("training_replies")
    op.drop_table("training_attempts")
    op.drop_table("training_scenarios")
