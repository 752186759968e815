"""kb embeddings: sentence vectors of article texts, shared by every process

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

Stored as pgvector `vector` where the extension is available (the embedded
PostgreSQL ships it), else as `real[]`: either way a text is encoded once per model,
not once per process start. Rows are keyed by a hash of model and text, so an
edited article gets a new row and an old row is simply never read again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).scalar()
    if available:
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    column_type = "vector" if available else "real[]"
    op.execute(
        f"""
        CREATE TABLE kb_embeddings (
            workspace_id bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            key text NOT NULL,
            embedding {column_type} NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace_id, key)
        )
        """
    )


def downgrade() -> None:
    op.drop_table("kb_embeddings")
