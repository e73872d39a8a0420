"""Quality routes: the national indicators, live and per month (supervisors and administrators)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dispatch.auth.permissions import supervisors_only
from dispatch.db import SessionDep
from dispatch.quality import service
from dispatch.quality.schemas import QualityOut
from dispatch.runtime import RuntimeDep

router = APIRouter(prefix="/api/v1/quality", tags=["quality"])

Month = Annotated[str | None, Query(max_length=7, description="a month of the centre's calendar, YYYY-MM")]
Window = Annotated[Literal["15m", "1h", "24h"] | None, Query(description="a rolling window ending now")]
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
