"""`sodam` command line: serve, worker, migrate, demo, admin, token, db, bench."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import typer

from sodam.cli_bench import bench_app
from sodam.cli_contacts import contacts_app
from sodam.cli_support import console, database_url, fail, run_async
from sodam.config import get_settings
from sodam.knowledge.cli import kb_app
from sodam.mail.cli import mail_app
from sodam.nlp.cli import nlp_app

app = typer.Typer(help="Sodam (소담): Korean-first customer engagement.", no_args_is_help=True)
admin_app = typer.Typer(help="Administer agents.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="The embedded database.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(kb_app, name="kb")
app.add_typer(nlp_app, name="nlp")
app.add_typer(mail_app, name="mail")
app.add_typer(contacts_app, name="contacts")
app.add_typer(bench_app, name="bench")


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    from sodam.db.migrate import upgrade

    url = database_url()
    upgrade(url)
    console.print("[green]database is up to date[/green]")


def _seed_demo(url: str, origins: list[str] | None = None):
    from sodam import demo
    from sodam.db.session import session_scope

    async def go():
        async with session_scope() as session:
            info = await demo.seed(session, allowed_origins=origins)
        if info.created:
            # The bot's sentence vectors now, not in the first minute's background job: a
            # newcomer's first question would otherwise meet the lexical ranking alone
            # ("환불하고 싶은데 어떻게 해야 하나요?" handed off). Seconds, on the first start only.
            from sodam.knowledge import embedding

            console.print("preparing the demo help articles for the bot (first start only)…", soft_wrap=True)
            await embedding.embed_articles(info.workspace_id)
        return info

    return run_async(go, url)


@app.command("demo")
def demo_cmd() -> None:
    """Create the demo workspace (Korean and English content) if it does not exist."""
    from sodam.db.migrate import upgrade

    url = database_url()
    upgrade(url)
    info = _seed_demo(url)
    console.print(
        ("created" if info.created else "already there") + f": demo workspace, inbox token {info.inbox_token}"
    )


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (SODAM_HOST, default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (SODAM_PORT, default 8000)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    demo: bool = typer.Option(True, help="Seed the demo workspace on first start."),
) -> None:
    """Start the embedded database if needed, migrate, seed the demo and serve."""
    import uvicorn

    from sodam.db.migrate import upgrade

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    os.environ["SODAM_HOST"], os.environ["SODAM_PORT"] = host, str(port)
    from sodam.db.embedded import embedded_running, stop_embedded

    # Stop the embedded database on exit only if this command started it.
    owns_embedded = settings.database_url is None and not embedded_running(settings.data_dir)
    url = database_url()
    upgrade(url)
    # Every worker must sign with the same key: resolve it once here.
    os.environ["SODAM_SECRET_KEY"] = settings.resolved_secret_key()
    if demo:
        info = _seed_demo(url)
        base = settings.public_url or f"http://{host}:{port}"
        console.print(f"[bold]Sodam[/bold] console: {base}/console", soft_wrap=True)
        console.print(f"demo login: {info.admin_email} / {info.admin_password}", soft_wrap=True)
        console.print(f"widget test page: {base}/widget/demo?inbox={info.inbox_token}", soft_wrap=True)
        console.print(f"help center: {base}/help/demo", soft_wrap=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler
    # that kills this process before the finally below stops the embedded database.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "sodam.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            ws_max_size=256 * 1024,
            # Compression doubles the memory of every idle socket; chat frames are small.
            ws_per_message_deflate=False,
            # The client address is resolved by sodam.core.ratelimit.client_ip, which
            # believes X-Forwarded-For only from SODAM_TRUSTED_PROXIES.
            proxy_headers=False,
        )
    finally:
        if owns_embedded:
            stop_embedded(settings.data_dir)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


@app.command()
def worker(
    concurrency: int = typer.Option(4, min=1, help="Jobs run at once."),
    queues: str = typer.Option("", help="Comma-separated queues (default: all)."),
    nice: int = typer.Option(0, min=0, max=19, help="Lower this process's CPU priority by this much."),
    parent: int = typer.Option(0, hidden=True, help="Started by `sodam serve`: end with that process."),
    migrate: bool = typer.Option(True, help="Apply database migrations first."),
) -> None:
    """Run background jobs (bot replies, routing, automations) in this process."""
    from sodam.bot.knowledge_source import load_indexes
    from sodam.db.migrate import upgrade
    from sodam.jobs.app import JobRunner
    from sodam.jobs.bus import start_listener
    from sodam.jobs.child import become_child, watch_parent
    from sodam.jobs.warmup import warm_up_language_models

    if parent:
        become_child(parent, nice)
    elif nice:
        os.nice(nice)
    url = database_url()
    if migrate:
        upgrade(url)

    async def go():
        from sodam.db.session import dispose_engine, init_engine

        init_engine(url, pool_size=concurrency + 1)
        runner = JobRunner(url, run_worker=False, concurrency=concurrency)
        await runner.start()
        listener = await start_listener(url)
        # The language models, before the first job rather than inside it.
        await asyncio.to_thread(warm_up_language_models, True)
        work = asyncio.create_task(runner.work(queues=[q for q in queues.split(",") if q] or None))
        # The bot's search indexes, while the worker already takes jobs.
        indexes = asyncio.create_task(load_indexes())
        # Ctrl+C / SIGTERM: stop taking jobs, let the running ones finish.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, work.cancel)
        orphaned = asyncio.create_task(watch_parent(parent, work.cancel)) if parent else None
        try:
            await work
        except asyncio.CancelledError:
            pass
        finally:
            indexes.cancel()
            if orphaned is not None:
                orphaned.cancel()
            await runner.stop()
            await listener.stop()
            await dispose_engine()

    if not parent:
        console.print("worker started; Ctrl+C stops it")
    asyncio.run(go())


@admin_app.command("create-agent")
def create_agent(
    email: str = typer.Option(...),
    name: str = typer.Option(...),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    workspace: str = typer.Option("demo", help="Workspace slug (created if it does not exist)."),
    role: str = typer.Option("agent", help="admin | supervisor | agent"),
    locale: str = typer.Option("ko"),
) -> None:
    """Create an agent (and the workspace, if new)."""
    from sodam.accounts import service as accounts
    from sodam.accounts.models import Role
    from sodam.core.errors import AppError
    from sodam.db.migrate import upgrade
    from sodam.db.session import session_scope

    if role not in Role.__members__:
        fail(f"unknown role {role!r}; use admin, supervisor or agent", 2)
    url = database_url()
    upgrade(url)

    async def go():
        async with session_scope() as session:
            ws = await accounts.get_workspace_by_slug(session, slug=workspace)
            if ws is None:
                ws = await accounts.create_workspace(session, name=workspace, slug=workspace)
            return await accounts.create_agent(
                session,
                workspace_id=ws.id,
                email=email,
                name=name,
                password=password,
                role=Role(role),
                locale=locale,
            )

    try:
        agent = run_async(go, url)
    except AppError as exc:
        fail(exc.message, 2)
    console.print(f"created agent #{agent.id} {agent.email} ({role}) in workspace {workspace}")


@token_app.command("create")
def token_create(
    email: str = typer.Option(..., help="The agent the token acts as."),
    name: str = typer.Option("cli", help="A label for the token."),
    scopes: str = typer.Option("read,write", help="Comma-separated: read, write."),
) -> None:
    """Create an API token; it is printed once."""
    from sodam.accounts import service as accounts
    from sodam.core.errors import AppError
    from sodam.db.session import session_scope

    scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
    bad = [s for s in scope_list if s not in ("read", "write")]
    if bad:
        fail(f"unknown scope(s): {', '.join(bad)}", 2)
    url = database_url()

    async def go():
        async with session_scope() as session:
            agent = await accounts.get_agent_by_email(session, email=email)
            if agent is None:
                raise AppError(f"no agent with e-mail {email}")
            _token, raw = await accounts.create_api_token(
                session, workspace_id=agent.workspace_id, agent_id=agent.id, name=name, scopes=scope_list
            )
            return raw

    try:
        raw = run_async(go, url)
    except AppError as exc:
        fail(exc.message, 2)
    print(raw)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL of the data directory."""
    from sodam.db.embedded import stop_embedded

    stopped = stop_embedded(get_settings().data_dir)
    console.print("stopped" if stopped else "not running")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded server if needed)."""
    print(database_url())


reports_app = typer.Typer(help="Reports (보고서): the hourly rollup.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")


@reports_app.command("rebuild")
def reports_rebuild(
    workspace: int | None = typer.Option(None, help="Only this workspace (default: all)."),
) -> None:
    """Recompute the reports' facts and hourly rollup from scratch (equals the incremental result)."""
    from sodam.analytics import rollup
    from sodam.db.session import libpq_url

    url = libpq_url(database_url())

    async def go():
        return await rollup.rebuild(url, workspace_id=workspace)

    result = asyncio.run(go())
    typer.echo(
        f"rebuilt {result.conversations:,} conversations, {result.answers:,} loose answers"
        f" into {result.rows:,} hourly rows and {result.activity_rows:,} customer-activity rows"
        f" in {result.seconds:.1f} s"
    )


@reports_app.command("churn-eval")
def reports_churn_eval(
    workspace: int = typer.Option(..., help="The workspace whose history to train and measure on."),
    save: bool = typer.Option(False, help="Also keep the model and score the customers active now."),
) -> None:
    """Churn risk: train at now − 2·window, print the AUC at now − window (held out, later)."""
    import psycopg

    from sodam.analytics import churnrisk
    from sodam.db.session import libpq_url

    url = libpq_url(database_url())

    async def go():
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            if save:
                return await churnrisk.retrain(conn, workspace_id=workspace)
            ev = await churnrisk.evaluate(conn, workspace_id=workspace)
            return {
                "train_at": ev.train_at.isoformat(),
                "test_at": ev.test_at.isoformat(),
                "n_train": ev.n_train,
                "churned_train": ev.churned_train,
                "n_test": ev.n_test,
                "churned_test": ev.churned_test,
                "auc": ev.auc,
                "baseline_auc_days_since_last": ev.baseline_auc,
            }

    typer.echo(json.dumps(asyncio.run(go()), ensure_ascii=False))


if __name__ == "__main__":
    app()
