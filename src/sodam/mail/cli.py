"""`sodam mail listen`: the SMTP listener on its own (when `sodam serve` runs elsewhere)."""

from __future__ import annotations

import asyncio
import signal

import typer

mail_app = typer.Typer(help="The e-mail channel.", no_args_is_help=True)


@mail_app.command("listen")
def listen(
    host: str = typer.Option(None, help="Interface (SODAM_SMTP_LISTEN_HOST, default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (SODAM_SMTP_LISTEN_PORT, default 2525)."),
) -> None:
    """Receive mail for the e-mail inboxes over SMTP until stopped (Ctrl+C)."""
    from sodam.cli_support import console, database_url
    from sodam.config import get_settings
    from sodam.db.migrate import upgrade
    from sodam.db.session import dispose_engine, init_engine
    from sodam.jobs.app import load_task_modules
    from sodam.mail.listener import start_server

    settings = get_settings()
    host = host or settings.smtp_listen_host
    port = port or settings.smtp_listen_port
    if not port:
        console.print("[red]error:[/red] SODAM_SMTP_LISTEN_PORT is 0 (off): give --port")
        raise typer.Exit(2)
    url = database_url()
    upgrade(url)
    # The reactions (bot, sentiment, …) a stored mail defers are registered by these modules.
    load_task_modules()

    async def go():
        init_engine(url, pool_size=4)
        server = await start_server(host, port)
        console.print(f"SMTP listener on {host}:{port}; Ctrl+C stops it")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()
            await dispose_engine()

    asyncio.run(go())
