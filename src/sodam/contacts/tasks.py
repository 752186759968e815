"""Jobs of the contacts domain: importing an uploaded CSV file."""

from __future__ import annotations

from sodam.db.session import session_scope
from sodam.jobs.app import job_app


@job_app.task(name="contacts.import_csv", queue="default", retry=2)
async def import_csv(**args) -> dict:
    """Import the stored file of a contact import, recording progress as it goes. A retry
    starts over: rows already in are upserted again (the same values), never duplicated."""
    from sodam.contacts import csvio, importer, imports
    from sodam.contacts.models import ContactImport

    import_id = int(args["import_id"])
    async with session_scope() as session:
        row = await session.get(ContactImport, import_id)
        if row is None or row.status == "done":
            return {"skipped": True}
        workspace_id, data = row.workspace_id, row.content
        await imports.set_progress(session, import_id=import_id, status="running", processed=0)
        await session.commit()

    async with session_scope() as progress_session:

        async def progress(done: int, total: int) -> None:
            await imports.set_progress(progress_session, import_id=import_id, processed=done, total=total)
            await progress_session.commit()

        async with session_scope() as session:
            try:
                report = await importer.import_csv(
                    session, workspace_id=workspace_id, data=data, progress=progress
                )
            except csvio.Unreadable as exc:
                await session.rollback()
                await imports.set_progress(
                    progress_session, import_id=import_id, status="failed", message=str(exc)[:500]
                )
                await progress_session.commit()
                return {"failed": str(exc)}
            await session.commit()
        await imports.set_progress(
            progress_session,
            import_id=import_id,
            status="done",
            total=report.total,
            processed=report.total,
            created_count=report.created,
            updated_count=report.updated,
            errors=report.errors,
        )
        await progress_session.commit()
    return {"created": report.created, "updated": report.updated, "failed": len(report.errors)}
