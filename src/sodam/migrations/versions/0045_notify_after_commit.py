"""the message path: a caller may send the message's NOTIFYs itself, after COMMIT

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-06

sodam_post_message as 0043 defined it, with one more parameter, p_notify (default true: as
before). A transaction that sends a NOTIFY takes PostgreSQL's database-wide notify lock
before its commit record and holds it until the end of the transaction, through the WAL
flush: every notifying commit waits for the previous one's flush, so the group-commit batches
of customers' messages (and the worker's writes) could not share flushes. `sodam bench
messages` with the jobs on sampled the batches waiting on that lock (Lock:object) and flushing
WAL in turn. With p_notify false the function sends nothing and returns the payloads
(result 'notify', in order); the caller sends them after COMMIT, in a transaction that writes
nothing else, so it never waits for a flush while holding the lock
(conversations/message_path.py). With p_notify true the result's 'notify' is null.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def _previous():
    spec = importlib.util.spec_from_file_location("m0043", Path(__file__).with_name("0043_message_path_locks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _edit(sql: str, old: str, new: str, count: int) -> str:
    if sql.count(old) != count:
        raise RuntimeError(f"0043's function changed: {old!r} found {sql.count(old)} times, not {count}")
    return sql.replace(old, new)


def function_sql() -> str:
    """0043's function, each NOTIFY collected instead of sent, sent at the end unless the
    caller sends them itself."""
    sql = _previous().FUNCTION
    sql = _edit(
        sql,
        "p_skip_locked boolean DEFAULT false\n)",
        "p_skip_locked boolean DEFAULT false,\n    p_notify boolean DEFAULT true\n)",
        1,
    )
    sql = _edit(sql, "    v_held bigint;\n", "    v_held bigint;\n    v_notify jsonb := '[]'::jsonb;\n", 1)
    sql = _edit(
        sql, "PERFORM pg_notify('sodam_events', jsonb_build_object(", "v_notify := v_notify || jsonb_build_array(jsonb_build_object(", 2
    )
    return _edit(
        sql,
        "    RETURN jsonb_build_object('created', true, 'message', to_jsonb(v_msg), 'conversation', to_jsonb(v_conv));",
        "    IF p_notify THEN\n"
        "        PERFORM pg_notify('sodam_events', n) FROM jsonb_array_elements_text(v_notify) AS n;\n"
        "        v_notify := NULL;\n"
        "    END IF;\n"
        "    RETURN jsonb_build_object('created', true, 'message', to_jsonb(v_msg), 'conversation', to_jsonb(v_conv),\n"
        "                              'notify', v_notify);",
        1,
    )


OLD_SIGNATURE = (
    "sodam_post_message(bigint, bigint, bigint, bigint, sender_type, bigint, message_kind, text, text,"
    " jsonb, text, jsonb, integer, boolean)"
)
NEW_SIGNATURE = OLD_SIGNATURE.replace("boolean)", "boolean, boolean)")


def upgrade() -> None:
    # A new parameter makes a new function, and two would match a call.
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    op.execute(function_sql())


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    op.execute(_previous().FUNCTION)
