"""What every `sodam` subcommand module shares: the console, a clear error exit, the database
URL (the embedded server started when needed) and running a coroutine with an engine."""

from __future__ import annotations

import asyncio
import os

import typer
from rich.console import Console

from sodam.config import get_settings

console = Console()


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def database_url() -> str:
    """SODAM_DATABASE_URL, or the embedded server (started if needed); exported for child processes."""
    from sodam.db.embedded import resolve_database_url

    settings = get_settings()
    try:
        url = resolve_database_url(settings.database_url, settings.data_dir)
    except Exception as exc:  # a clear message beats a traceback for a setup problem
        fail(f"cannot reach or start PostgreSQL: {exc}")
    os.environ["SODAM_DATABASE_URL"] = url
    return url


def run_async(coro_fn, url: str):
    from sodam.db.session import dispose_engine, init_engine

    async def runner():
        init_engine(url, pool_size=2)
        try:
            return await coro_fn()
        finally:
            await dispose_engine()

    return asyncio.run(runner())
