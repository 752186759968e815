"""`sodam contacts import|export` (a CLI module beside cli.py: the contacts domain is on the
message path and may not import the CLI): contacts as CSV (UTF-8, UTF-8 with BOM, CP949/EUC-KR in)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sodam.core.i18n import gettext

contacts_app = typer.Typer(help="Contacts import and export (CSV).", no_args_is_help=True)
console = Console(stderr=True)


def _language(option: str | None) -> str:
    if option:
        if option not in ("ko", "en"):
            raise typer.BadParameter("ko or en", param_hint="--lang")
        return option
    return "ko" if os.environ.get("LANG", "").lower().startswith("ko") else "en"


async def _workspace_id(session, slug: str) -> int:
    from sodam.accounts import service as accounts

    workspace = await accounts.get_workspace_by_slug(session, slug=slug)
    if workspace is None:
        raise typer.BadParameter(f"no workspace '{slug}'", param_hint="--workspace")
    return workspace.id


@contacts_app.command("import")
def import_cmd(
    source: Path = typer.Argument(..., help="A CSV file with a header line (name, email, phone, ...)."),
    workspace: str = typer.Option("demo", "--workspace", "-w", help="Workspace slug."),
    lang: str = typer.Option(
        None, "--lang", help="The bad rows' reasons in ko or en (default: from LANG, else en)."
    ),
) -> None:
    """Upsert contacts by e-mail, then phone; bad rows are listed with their line numbers and
    the rest imported. Exits non-zero only when the file itself cannot be read."""
    from sodam.cli_support import database_url, fail, run_async
    from sodam.contacts import csvio, importer
    from sodam.db.session import session_scope

    try:
        data = source.read_bytes()
        csvio.read(csvio.decode(data)[0])  # an unreadable file fails before the database starts
    except (OSError, csvio.Unreadable) as exc:
        fail(f"cannot read {source}: {exc}", 2)
    url = database_url()

    async def go():
        async with session_scope() as session:
            ws_id = await _workspace_id(session, workspace)
            with Progress(
                TextColumn("[bold]import"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                task = bar.add_task("import", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return await importer.import_csv(session, workspace_id=ws_id, data=data, progress=progress)

    try:
        report = run_async(go, url)
    except csvio.Unreadable as exc:
        fail(f"cannot read {source}: {exc}", 2)
    language = _language(lang)
    translate = partial(gettext, language)
    for error in report.errors:
        console.print(
            f"{translate('contacts.import.line')} {error['line']}: {csvio.reason_in(error, translate)}",
            markup=False,
            highlight=False,
        )
    if report.ignored_columns:
        console.print("ignored columns: " + ", ".join(report.ignored_columns), markup=False)
    typer.echo(
        f"{report.created} created, {report.updated} updated, {len(report.errors)} bad rows"
        f" ({report.total} rows, {report.encoding})"
    )


@contacts_app.command("export")
def export_cmd(
    target: Path = typer.Argument(..., help="The CSV file to write (UTF-8 with BOM: opens in Excel)."),
    workspace: str = typer.Option("demo", "--workspace", "-w", help="Workspace slug."),
) -> None:
    """Write every contact of a workspace with its company and attributes."""
    from sodam.cli_support import database_url, fail, run_async
    from sodam.contacts import importer
    from sodam.db.session import session_scope

    url = database_url()

    try:
        out = target.open("wb")
    except OSError as exc:
        fail(f"cannot write {target}: {exc}", 2)

    async def go() -> int:
        """Chunk by chunk into the file (a large workspace never sits in memory whole)."""
        lines = 0
        async with session_scope() as session:
            ws_id = await _workspace_id(session, workspace)
            async for chunk in importer.export_chunks(session, workspace_id=ws_id):
                out.write(chunk)
                lines += chunk.count(b"\n")
        return lines

    try:
        with out:
            lines = run_async(go, url)
    except OSError as exc:
        fail(f"cannot write {target}: {exc}", 2)
    typer.echo(f"exported {max(lines - 1, 0)} contacts to {target}")
