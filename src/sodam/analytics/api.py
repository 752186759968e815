"""REST API v1: the reports (매니저+: `reports.read`), as JSON or one table as CSV.

GET /api/v1/reports/{overview|conversations|agents|bot|surveys}
    ?from=YYYY-MM-DD&to=YYYY-MM-DD&tz=Asia/Seoul&inbox_id=&channel=&team_id=&agent_id=&language=
    &segment_id=
    &format=json|csv&table=<name>
Every figure comes with the previous period of the same length; every table of a report can be
downloaded as CSV (the same rows the console's charts draw).

GET /api/v1/reports/churn-risk?limit=&min_risk=&segment_id=   customers by churn risk + the model
GET /api/v1/reports/digest?week=YYYY-MM-DD&tz=                 the weekly insights digest
GET /api/v1/reports/journey/contacts/{id}?tz=&format=&table=    one customer's journey map"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.analytics import churnrisk, digest, journeys, readdb, service
from sodam.analytics.params import filters_from, to_csv
from sodam.analytics.queries import Filters
from sodam.core.deps import Principal
from sodam.core.errors import Invalid, NotFound
from sodam.core.params import IdPath
from sodam.segments import service as segments

router = APIRouter(prefix="/api/v1", tags=["reports"])
Reader = Annotated[Principal, Depends(api_access(Permission.reports_read, "read"))]


async def with_segment(session: AsyncSession, filters: Filters) -> Filters:
    """The segment's customers now (segments' compiler, one statement; another workspace's
    segment is a 404), carried in the filters so every query restricts to them."""
    if filters.segment_id is None:
        return filters
    ids = await segments.segment_contact_ids(
        session, workspace_id=filters.workspace_id, segment_id=filters.segment_id
    )
    return replace(filters, contact_ids=tuple(ids))


async def report_data(name: str, query, workspace_id: int, session: AsyncSession) -> dict[str, Any]:
    if name not in service.REPORTS:
        raise NotFound("report not found", details={"reports": list(service.REPORTS)})
    filters = await with_segment(session, filters_from(query, workspace_id=workspace_id))
    async with readdb.connection() as conn:
        return await service.build(conn, name, filters)


def csv_response(data: dict[str, Any], table_name: str | None) -> Response:
    name = table_name or service.MAIN_TABLE.get(data["report"], "")
    if name not in data["tables"]:
        raise Invalid("unknown table", code="invalid_table", details={"tables": sorted(data["tables"])})
    period = data["period"]
    filename = f"sodam-{data['report']}-{name}-{period['from']}-{period['to']}.csv"
    return Response(
        # A BOM so spreadsheet programs read the Korean text as UTF-8.
        content="\ufeff" + to_csv(data["tables"][name]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/reports/churn-risk", summary="Customers by churn risk, with the model's held-out AUC")
async def churn_risk(
    principal: Reader,
    session: ApiSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    min_risk: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    segment_id: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    filters = await with_segment(
        session, Filters(principal.workspace_id, date.today(), date.today(), segment_id=segment_id)
    )
    async with readdb.connection() as conn:
        return {
            "model": await churnrisk.latest_model(conn, principal.workspace_id),
            "customers": await churnrisk.at_risk(
                conn,
                workspace_id=principal.workspace_id,
                limit=limit,
                min_risk=min_risk,
                contact_ids=filters.contact_ids,
            ),
        }


@router.get("/reports/digest", summary="The weekly insights digest (a week from Monday, and the week before)")
async def weekly_digest(
    principal: Reader,
    week: Annotated[str | None, Query(max_length=10, description="any day of the week, YYYY-MM-DD")] = None,
    tz: Annotated[str, Query(max_length=64)] = "Asia/Seoul",
) -> dict[str, Any]:
    # The same tz check as the reports (an empty tz means Korea's, as there).
    tz = filters_from({"tz": tz}, workspace_id=principal.workspace_id).tz
    monday = digest.parse_week(week, digest.today_in(tz))
    async with readdb.connection() as conn:
        return await digest.build(conn, workspace_id=principal.workspace_id, week=monday, tz=tz)


async def contact_journey_data(workspace_id: int, contact_id: int, tz: str) -> dict[str, Any]:
    tz = filters_from({"tz": tz}, workspace_id=workspace_id).tz  # the reports' tz check
    async with readdb.connection() as conn:
        data = await journeys.contact_journey(conn, workspace_id=workspace_id, contact_id=contact_id, tz=tz)
    if data is None:
        raise NotFound("contact not found")
    today = date.today().isoformat()
    return {"report": "journey-contact", "period": {"from": today, "to": today, "tz": tz}, **data}


@router.get(
    "/reports/journey/contacts/{contact_id}",
    summary="One customer's journey: touchpoints (conversations per channel, survey answers, campaigns,"
    " automations) and satisfaction over time",
)
async def contact_journey(
    contact_id: IdPath,
    principal: Reader,
    tz: Annotated[str, Query(max_length=64)] = "Asia/Seoul",
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    table: Annotated[str | None, Query(max_length=40)] = None,
):
    data = await contact_journey_data(principal.workspace_id, contact_id, tz)
    if format == "csv":
        return csv_response(data, table or "touchpoints")
    return data


@router.get(
    "/reports/{name}", summary="A report: KPIs with the previous period, and its tables (JSON or CSV)"
)
async def get_report(
    request: Request,
    principal: Reader,
    session: ApiSession,
    name: Annotated[str, Path(max_length=20)],
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    table: Annotated[str | None, Query(max_length=40)] = None,
):
    data = await report_data(name, request.query_params, principal.workspace_id, session)
    if format == "csv":
        return csv_response(data, table)
    return data
