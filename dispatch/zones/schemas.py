"""API shapes of zones: GeoJSON polygons with a status over a validity window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from dispatch.schemas import StrictIn, never_null
from dispatch.zones.enums import ZoneStatus

ZONE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
# Path segments under /api/v1/zones/ that are routes, not zone ids.
RESERVED_IDS = frozenset({"export", "import", "lookup"})
MAX_VERTICES = 20_000
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def check_polygon(value: dict[str, Any]) -> dict[str, Any]:
    """Accept a valid GeoJSON Polygon or MultiPolygon in [lon, lat] order."""
    import shapely
    from shapely.geometry import shape

    if value.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError("must be a GeoJSON Polygon or MultiPolygon")
    try:
        geometry = shape(value)
    except Exception as error:
        raise ValueError(f"not a valid GeoJSON polygon ({error})") from None
    if geometry.is_empty or not geometry.is_valid:
        raise ValueError("polygon is empty or self-intersecting")
    if shapely.get_num_coordinates(geometry) > MAX_VERTICES:
        raise ValueError(f"more than {MAX_VERTICES} vertices")
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("coordinates must be [lon, lat] within range")
    return value


class ZoneFields(StrictIn):

    @field_validator("geometry", check_fields=False)
    @classmethod
    def _polygon(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else check_polygon(value)

    @field_validator("valid_to", check_fields=False)
    @classmethod
    def _window(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be after valid_from")
        return value


class ZoneIn(ZoneFields):
    """A whole zone, as created through the API, imported or read from a scenario."""

    id: str = Field(pattern=ZONE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, min_length=1, max_length=200,
                                description="the zone's Chinese name (the console shows it in Chinese)")
    status: ZoneStatus
    sub_district: str | None = Field(default=None, max_length=64)
    community: str | None = Field(default=None, max_length=200)
    geometry: dict[str, Any]
    valid_from: AwareDatetime = Field(default_factory=lambda: EPOCH)
    valid_to: AwareDatetime | None = None


class ZoneCreate(ZoneIn):
    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved")
        return value


class ZoneUpdate(ZoneFields):
    """Fields to change; absent fields keep their value, null clears an optional one."""

    model_config = ConfigDict(json_schema_extra=never_null("name", "status", "geometry",
                                                           "valid_from"))

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    status: ZoneStatus | None = None
    sub_district: str | None = Field(default=None, max_length=64)
    community: str | None = Field(default=None, max_length=200)
    geometry: dict[str, Any] | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None

    @field_validator("name", "status", "geometry", "valid_from")
    @classmethod
    def _required(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ZoneOut(BaseModel):
    id: str
    name: str
    name_zh: str | None = None
    status: ZoneStatus
    sub_district: str | None
    community: str | None
    geometry: dict[str, Any]
    valid_from: datetime
    valid_to: datetime | None
    version: int
    updated_at: datetime
    updated_by: str | None
    deleted: bool


class ZoneRevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    zone_id: str
    version: int
    snapshot: dict[str, Any]
    changed_at: datetime
    changed_by: str | None


# What an imported feature must carry, as the OpenAPI tells it (ZoneIn checks it all).
ZONE_PROPERTIES: dict[str, Any] = {
    "type": "object", "required": ["name", "status"],
    "properties": {
        "id": {"type": "string", "pattern": ZONE_ID_PATTERN},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "name_zh": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
        "status": {"enum": [s.value for s in ZoneStatus]},
    },
}
POLYGON: dict[str, Any] = {
    "type": "object", "required": ["type", "coordinates"],
    "properties": {"type": {"enum": ["Polygon", "MultiPolygon"]},
                   "coordinates": {"type": "array", "minItems": 1}},
}


class Feature(BaseModel):
    """A zone as a GeoJSON feature; its id is the feature's `id` or `properties.id`."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["id"], "properties": {"id": {"type": ["string", "integer"]}}},
        {"properties": {"properties": {"required": ["id"]}}},
    ]})

    type: Literal["Feature"]
    id: Annotated[str, Field(pattern=ZONE_ID_PATTERN)] | Annotated[int, Field(ge=0)] | None = None
    geometry: dict[str, Any] = Field(json_schema_extra=POLYGON)
    properties: dict[str, Any] = Field(json_schema_extra=ZONE_PROPERTIES)


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[Feature] = Field(max_length=50_000)


class ImportResult(BaseModel):
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deleted: list[str]
