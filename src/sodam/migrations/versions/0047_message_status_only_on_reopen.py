"""the message path: a message sets the conversation's status only when it reopens it

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-08

sodam_post_message as 0045 defined it, except that its UPDATE of the conversation names
`status` only when the customer's message reopens a resolved or snoozed conversation. With
`status = CASE … ELSE status END` in every message's SET list, the conversation triggers
declared `AFTER UPDATE OF status` (routing's kick, the SLA clock) ran for every message and
found nothing changed (`SODAM_BENCH_PGFUNCS`: two calls per message, ~25 µs together); they
still run, and act, on a reopen. Same rows, same results.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def _previous():
    spec = importlib.util.spec_from_file_location("m0045", Path(__file__).with_name("0045_notify_after_commit.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SET = """        last_seq = last_seq + 1,
        updated_at = v_now,
        last_message_at = CASE WHEN p_kind = 'note' THEN last_message_at ELSE v_now END,
        last_message_preview = CASE WHEN p_kind = 'note' THEN last_message_preview
                                    ELSE left(p_content, p_preview_chars) END"""

# 0043's statement, as it stands in the function.
_UPDATE = f"""    UPDATE conversations SET
{_SET},
        status = CASE WHEN v_reopen THEN 'open'::conversation_status ELSE status END
     WHERE id = v_conv.id
     RETURNING * INTO v_conv;
"""

_UPDATES = f"""    IF v_reopen THEN
        UPDATE conversations SET
{_SET},
        status = 'open'::conversation_status
         WHERE id = v_conv.id
         RETURNING * INTO v_conv;
    ELSE
        UPDATE conversations SET
{_SET}
         WHERE id = v_conv.id
         RETURNING * INTO v_conv;
    END IF;
"""


def _replacing(sql: str) -> str:
    return sql.replace("CREATE FUNCTION sodam_post_message(", "CREATE OR REPLACE FUNCTION sodam_post_message(", 1)


def function_sql() -> str:
    sql = _previous().function_sql()
    if sql.count(_UPDATE) != 1:
        raise RuntimeError("0045's function changed: its conversation UPDATE is not where 0047 expects it")
    return _replacing(sql.replace(_UPDATE, _UPDATES))


def upgrade() -> None:
    op.execute(function_sql())  # the same signature


def downgrade() -> None:
    op.execute(_replacing(_previous().function_sql()))
