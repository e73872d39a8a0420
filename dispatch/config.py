"""Settings of the hub, read once from DISPATCH_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatch.redis_url import parse_redis_url

DATABASE_SCHEMES = ("postgresql+asyncpg", "sqlite+aiosqlite")


class Settings(BaseSettings):
    """Configuration of one hub process; built in `create_app`, never a module global."""

    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://… in production; unset for the embedded SQLite file.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db for one server; redis+cluster://host:port,host:port/ "
        "for a Redis Cluster; redis+sentinel://host:port,host:port/service_name/db for the master "
        "Sentinel names (see dispatch/redis_url.py); unset for the in-process Redis.",
    )
    data_dir: Path = Field(default=Path("var"), description="Where the embedded default keeps files.")
    redis_prefix: str = Field(default="dispatch", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    database_pool_size: int = Field(default=32, ge=1, le=512)
    redis_pool_size: int = Field(default=64, ge=4, le=1024,
                                 description="Redis connections per worker; requests wait for one")
    secret_key: SecretStr | None = Field(default=None, description="Signs access tokens.")
    access_token_hours: float = Field(default=12.0, gt=0, le=72, description="a shift")
    intake_rate_per_second: int = Field(
        default=200, ge=1, description="calls one telephony client may report per second")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    login_failures_per_user: int = Field(
        default=5, ge=1, description="wrong passwords for one account before it is locked out")
    login_failures_per_source: int = Field(
        default=20, ge=1, description="failed logins from one address before it is locked out")
    login_failure_window_seconds: int = Field(
        default=900, ge=1, description="how long a failed login counts towards a lockout")
    login_lockout_seconds: int = Field(default=300, ge=1, description="how long a lockout lasts")

    # Targets from the seed documents.
    answer_target_seconds: float = Field(default=10.0, gt=0, le=120)
    escalation_seconds: float = Field(default=6.0, gt=0, le=120)
    handover_target_minutes: float = Field(default=15.0, gt=0, le=240)
    coverage_urban_radius_km: float = Field(
        default=5.0, gt=0, le=100, description="national guidance: an urban service radius of 5 km")
    coverage_rural_radius_km: float = Field(
        default=15.0, gt=0, le=100, description="national guidance: 10-20 km in the countryside")
    rural_sub_districts: list[str] = Field(
        default_factory=list, description="sub-districts (ids) served at the rural radius")
    handover_repeat_minutes: float = Field(
        default=5.0, gt=0, le=240, description="after the target, escalate again this often")
    ack_timeout_seconds: float = Field(default=60.0, gt=0, le=900)
    stale_position_seconds: float = Field(default=120.0, gt=0)

    # Fleet.
    auto_dispatch_severities: list[Literal["critical", "urgent", "non_urgent"]] = Field(
        default_factory=list,
        description="severities whose first recommended unit is sent without a dispatcher's click")
    timezone: str = Field(default="Asia/Shanghai", max_length=64,
                          description="local time of the centre, for times read to crews")
    service_radius_km: float = Field(
        default=100.0, gt=0, le=2000,
        description="a location farther than this from every hospital is outside the service area")
    road_factor: float = Field(default=1.35, ge=1.0, le=3.0,
                               description="road distance ÷ straight-line distance")
    unit_speeds_kmh: dict[str, float] = Field(
        default_factory=dict, description='speed per unit kind, e.g. {"ambulance": 45}')
    osrm_url: str | None = Field(
        default=None, description="an OSRM-compatible routing server for road travel times")
    position_publish_seconds: float = Field(
        default=2.0, ge=0, le=60, description="tell the board of a unit's position this often")

    # Realtime push.
    stream_maxlen: int = Field(default=100_000, ge=100)
    ws_queue_size: int = Field(default=2_000, ge=10)
    ws_heartbeat_seconds: float = Field(default=15.0, gt=0)
    ws_idle_timeout_seconds: float = Field(default=45.0, gt=0)

    map_tiles_url: str | None = Field(
        default=None,
        description="base map tiles, e.g. https://tile.example/{z}/{x}/{y}.png; none: vector layers only",
    )
    map_tiles_attribution: str = Field(default="", max_length=300)
    map_streets_url: str | None = Field(
        default="/vendor/osm-xian/streets.geojson",
        description="a GeoJSON of street lines drawn under everything when no tile URL is set; "
                    "none: no base map",
    )

    demo_calls_per_minute: float = Field(
        default=0.0, ge=0, le=600,
        description="generate calls at this mean rate (make demo, drills); 0: none")
    background_tasks: bool = Field(
        default=True, description="Run the timers (escalation, ack timeouts, handover clocks)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme == "postgresql" or scheme == "postgres":
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"must start with one of {', '.join(s + '://' for s in DATABASE_SCHEMES)}"
                f" (got {scheme + '://' if scheme else 'no scheme'})"
            )
        return value

    @field_validator("unit_speeds_kmh")
    @classmethod
    def _check_speeds(cls, value: dict[str, float]) -> dict[str, float]:
        from dispatch.fleet.models import UnitKind

        for kind, speed in value.items():
            if kind not in set(UnitKind):
                raise ValueError(f"unknown unit kind {kind!r}")
            if not 1 <= speed <= 200:
                raise ValueError(f"speed of {kind} must be 1–200 km/h")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from dispatch.places.hours import HoursInvalid, zone_info  # pure; keeps config light

        try:
            zone_info(value)
        except HoursInvalid as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parse_redis_url(value)  # raises ValueError naming what is wrong
        return value

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.escalation_seconds >= self.answer_target_seconds:
            raise ValueError("escalation_seconds must be below answer_target_seconds")
        if self.environment == "production":
            missing = [
                name
                for name, value in (
                    ("DISPATCH_DATABASE_URL", self.database_url),
                    ("DISPATCH_REDIS_URL", self.redis_url),
                    ("DISPATCH_SECRET_KEY", self.secret_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production needs {', '.join(missing)}")
            if self.database_url and self.database_url.startswith("sqlite"):
                raise ValueError("production needs PostgreSQL, not SQLite")
            if self.secret_key and len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("DISPATCH_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def embedded(self) -> bool:
        """True when the hub runs on its embedded SQLite file and in-process Redis."""
        return self.database_url is None or self.redis_url is None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'dispatch.sqlite3').resolve()}"


class ConfigurationError(Exception):
    """Raised with one line a human can act on."""


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic-settings errors into one line naming each variable."""
    parts = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        name = "DISPATCH_" + loc[0].upper() if loc else "settings"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{name}: {message}" if loc else message)
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, raising ConfigurationError on bad values."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None
