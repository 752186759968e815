"""`sodam kb import|export`: the knowledge base as JSON or a folder of Markdown files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

kb_app = typer.Typer(
    help="Knowledge base import and export (JSON or a folder of Markdown files).", no_args_is_help=True
)
console = Console()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def _workspace_id(session, slug: str) -> int:
    from sodam.accounts import service as accounts

    workspace = await accounts.get_workspace_by_slug(session, slug=slug)
    if workspace is None:
        raise typer.BadParameter(f"no workspace '{slug}'", param_hint="--workspace")
    return workspace.id


@kb_app.command("export")
def export_cmd(
    target: Path = typer.Argument(..., help="A .json file, or a folder for Markdown files."),
    workspace: str = typer.Option("demo", "--workspace", "-w", help="Workspace slug."),
    fmt: str = typer.Option(
        None, "--format", "-f", help="json | markdown (default: json when TARGET ends in .json)."
    ),
) -> None:
    """Write every category and article (drafts too) of a workspace."""
    from sodam.cli_support import database_url, fail, run_async
    from sodam.db.session import session_scope
    from sodam.knowledge import transfer

    fmt = fmt or ("json" if target.suffix.lower() == ".json" else "markdown")
    if fmt not in ("json", "markdown"):
        fail("--format must be json or markdown", 2)
    url = database_url()

    async def go():
        async with session_scope() as session:
            ws_id = await _workspace_id(session, workspace)
            from sodam.knowledge import service

            total = len(await service.list_articles(session, workspace_id=ws_id, limit=1_000_000))
            with _progress() as progress:
                task = progress.add_task("export", total=total)
                return await transfer.export_data(
                    session, workspace_id=ws_id, on_article=lambda: progress.advance(task)
                )

    data = run_async(go, url)
    if fmt == "json":
        transfer.write_json(data, target)
    else:
        transfer.write_markdown_folder(data, target)
    console.print(
        f"exported {len(data['articles'])} articles, {len(data['categories'])} categories to {target}"
    )


@kb_app.command("import")
def import_cmd(
    source: Path = typer.Argument(..., exists=True, help="A .json file or a folder of Markdown files."),
    workspace: str = typer.Option("demo", "--workspace", "-w", help="Workspace slug."),
    author: str = typer.Option(None, help="E-mail of the agent recorded as the author."),
) -> None:
    """Create or update categories and articles (matched by id, else by locale + title) in one transaction."""
    from sodam.accounts import service as accounts
    from sodam.cli_support import database_url, fail, run_async
    from sodam.core.errors import AppError
    from sodam.db.session import session_scope
    from sodam.knowledge import transfer

    try:
        data = transfer.read_markdown_folder(source) if source.is_dir() else transfer.read_json(source)
        transfer.validate(data)
    except AppError as exc:
        fail(exc.message, 2)
    url = database_url()

    async def go():
        async with session_scope() as session:
            ws_id = await _workspace_id(session, workspace)
            author_id = None
            if author:
                agent = await accounts.get_agent_by_email(session, email=author.strip().lower())
                if agent is None or agent.workspace_id != ws_id:
                    raise typer.BadParameter(f"no agent {author} in {workspace}", param_hint="--author")
                author_id = agent.id
            with _progress() as progress:
                task = progress.add_task("import", total=len(data.get("articles") or []))
                return await transfer.import_data(
                    session,
                    workspace_id=ws_id,
                    data=data,
                    author_id=author_id,
                    on_article=lambda: progress.advance(task),
                )

    try:
        report = run_async(go, url)
    except AppError as exc:
        fail(exc.message, 2)
    console.print(
        f"imported: {report.created} created, {report.updated} updated, "
        f"{report.categories_created} new categories"
    )
