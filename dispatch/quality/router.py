"""Quality routes: the national indicators, live and per month (supervisors and administrators)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Response

from dispatch.auth.permissions import supervisors_only
from dispatch.db import SessionDep
from dispatch.quality import coverage, report, service
from dispatch.quality.schemas import CoverageOut, QualityOut
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep

router = DomainRouter(prefix="/api/v1/quality", tags=["quality"])

Month = Annotated[str | None, Query(max_length=7, description="a month of the centre's calendar, YYYY-MM")]
Window = Annotated[Literal["15m", "1h", "24h"] | None, Query(description="a rolling window ending now")]
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}
Filter = Annotated[str | None, Query(max_length=64)]


@router.get("", response_model=QualityOut, dependencies=[supervisors_only])
async def get_quality(
    session: SessionDep, rt: RuntimeDep, window: Window = None, month: Month = None,
    zone_id: Filter = None, sub_district_id: Filter = None,
) -> QualityOut:
    """The indicators over a rolling window (default 24h) or a month, for the centre, a zone or a
    sub-district."""
    return await service.compute(session=session, rt=rt, window=window, month=month, zone_id=zone_id,
                                 sub_district_id=sub_district_id)


@router.get("/report", dependencies=[supervisors_only], response_class=Response,
            responses={200: {"content": {m.split(";")[0]: {} for m in MEDIA.values()},
                             "description": "the month's report"}})
async def get_report(
    session: SessionDep, rt: RuntimeDep,
    month: Annotated[str, Query(max_length=7, description="a month of the centre's calendar, YYYY-MM")],
    format: Annotated[Literal["html", "pdf", "csv"], Query()] = "html",
) -> Response:
    """A month's report: a self-contained HTML page, a PDF, or a CSV of every incident's timeline."""
    built = await report.build(session=session, rt=rt, month=month)
    return Response(await report.render(built, format), media_type=MEDIA[format], headers={
        "Content-Disposition": f'attachment; filename="quality-{built.month}.{format}"'})


@router.get("/coverage", response_model=CoverageOut, dependencies=[supervisors_only])
async def get_coverage(session: SessionDep, rt: RuntimeDep) -> CoverageOut:
    """Now: the population within the service radius of an available ambulance, the sub-districts
    out of cover, and the negative-pressure share of the fleet and of the units available."""
    return await coverage.coverage(session=session, rt=rt)
