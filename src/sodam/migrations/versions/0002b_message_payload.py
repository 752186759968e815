"""messages: structured payload (quick replies, article links) and sentiment

Revision ID: 0002b
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002b"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("messages", sa.Column("sentiment_score", sa.Float(), nullable=True))
    op.add_column("messages", sa.Column("sentiment_label", sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "sentiment_label")
    op.drop_column("messages", "sentiment_score")
    op.drop_column("messages", "payload")
