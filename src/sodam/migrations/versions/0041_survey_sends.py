"""survey sends to large segments: `survey_sends` (one row per send, its progress) and
`survey_recipients.send_id` (unique per send and contact: a re-run never asks twice);
`campaigns.survey_id` (a campaign's copy may carry each contact's own survey link)

Revision ID: 0041
Revises: 0036
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_sends",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id", sa.BigInteger(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("survey_id", sa.BigInteger(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("segment_id", sa.BigInteger(), sa.ForeignKey("segments.id", ondelete="SET NULL")),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="queued"),
        sa.Column("total", sa.Integer()),
        sa.Column("invited", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_contact_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_survey_sends_workspace_id", "survey_sends", ["workspace_id"])
    op.create_index("ix_survey_sends_survey_id", "survey_sends", ["survey_id"])
    op.add_column(
        "survey_recipients",
        sa.Column("send_id", sa.BigInteger(), sa.ForeignKey("survey_sends.id", ondelete="CASCADE")),
    )
    op.create_index(
        "uq_survey_recipients_send_contact",
        "survey_recipients",
        ["send_id", "contact_id"],
        unique=True,
        postgresql_where=sa.text("send_id IS NOT NULL"),
    )
    op.add_column(
        "campaigns", sa.Column("survey_id", sa.BigInteger(), sa.ForeignKey("surveys.id", ondelete="SET NULL"))
    )


def downgrade() -> None:
    op.drop_column("campaigns", "survey_id")
    op.drop_index("uq_survey_recipients_send_contact", table_name="survey_recipients")
    op.drop_column("survey_recipients", "send_id")
    op.drop_table("survey_sends")
