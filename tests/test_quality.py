"""The national 120 indicators on a history whose answers were worked out by hand
(tests/quality_history.py), on PostgreSQL and on the embedded SQLite default."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command

from dispatch import cli, migrate
from dispatch.config import Settings
from dispatch.fleet.enums import UnitStatus
from dispatch.fleet.models import Assignment
from dispatch.incidents.enums import Severity
from dispatch.main import create_app
from dispatch.quality import report, service, timers
from dispatch.quality.schemas import QualityOut
from dispatch.replay import turnout
from dispatch.replay.stream import CallRecord, CallStream, StreamHeader, UnitTimes
from dispatch.workflows import unit_status
from tests import factories, quality_history
from tests.conftest import TEST_SECRET, client_for, running, token_for
from tests.quality_history import t
from tests.test_handovers import CREW, assignment_to, move, scenario_with_two_hospitals


async def november(app: Any, **filters: Any) -> QualityOut:
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        return await service.compute(session=session, rt=rt, month="2026-11", **filters)


async def recorded(app: Any) -> None:
    async with app.state.runtime.sessionmaker() as session:
        await quality_history.record(session)


def check_november(q: QualityOut) -> None:
    """Every figure of the month, as worked out by hand in tests/quality_history.py."""
    assert (q.start.isoformat(), q.end.isoformat()) == ("2026-11-01T00:00:00+08:00",
                                                        "2026-12-01T00:00:00+08:00")
    assert (q.incidents, q.dispatched, q.cancelled) == (5, 4, 1)  # I6 is in December
    a = q.answer
    # Answered after 10 (exactly the target: within), 4, 25, 6, 2, 12 s; two abandoned.
    assert (a.calls, a.answered, a.answered_within_target, a.abandoned, a.decided) == (8, 6, 4, 2, 8)
    assert a.share_within_target == 0.5
    assert a.answer_rate == 0.875  # (6 answered + 1 reached by callback) / 8
    assert (a.answer_p50_s, a.answer_p90_s, a.answer_p95_s) == (6.0, 25.0, 25.0)
    # Answer to first dispatch: I1 90, I2 96 (its first unit, which declined), I3 75, I5 88.
    assert (q.answer_to_dispatch.count, q.answer_to_dispatch.p50_s, q.answer_to_dispatch.p90_s) == (
        4, 88.0, 96.0)
    # Turnout from the first dispatch to the first unit en route: 150, 290, 180 (exactly 3 min:
    # within); I5 was stood down before any unit left and is not counted.
    tu = q.turnout
    assert (tu.count, tu.within_target, tu.share_within_target, tu.stood_down) == (3, 2, 0.6667, 1)
    assert (tu.p50_s, tu.p90_s) == (180.0, 290.0)
    # Call to on scene: I1 700, I2 1000 (U1's second job: its first job's times stay with I1), I3 700.
    assert (q.response.count, q.response.p50_s, q.response.p90_s) == (3, 700.0, 1000.0)
    assert {k: (v.count, v.p90_s) for k, v in q.response_by_zone_status.items()} == {
        "sealed": (2, 700.0), "normal": (1, 1000.0)}
    assert {k: (v.count, v.p50_s) for k, v in q.response_by_severity.items()} == {
        "critical": (2, 700.0), "urgent": (1, 1000.0)}
    assert (q.on_scene.count, q.on_scene.p50_s, q.on_scene.p90_s) == (3, 600.0, 600.0)  # 600, 600, 500
    assert (q.transport.count, q.transport.p50_s, q.transport.p90_s) == (3, 700.0, 900.0)  # 900, 600, 700
    h = q.handover
    # I1 in 10 min, I2 in 20 min; I3 closed by its crew for want of an answer: a refusal.
    assert (h.arrived, h.decided, h.within_target, h.share_within_target, h.refusals) == (3, 2, 1, 0.5, 1)
    assert (h.minutes.p50_s, h.minutes.p90_s) == (10.0, 20.0)
    c = q.community_care
    assert (c.calls_with_incident, c.resolved, c.share, c.by_outcome) == (5, 1, 0.2, {"refer": 1})
    assert [(a.sub_district_id, a.incidents, a.turnout_share_within_target, a.response_p90_s)
            for a in q.by_sub_district] == [("sd-a", 3, 0.5, 1000.0), ("sd-b", 2, 1.0, 700.0)]
    panel = {i.key: (i.value, i.holds) for i in q.indicators}
    assert panel["answered_within_10s"] == (0.5, False)
    assert panel["turnout_within_3min"] == (0.6667, False)
    assert panel["turnout_p90"] == (290.0, False)
    assert panel["handover_refusals"] == (1.0, False)
    assert panel["response_p90"] == (1000.0, None)  # no national target


def check_sub_district_b(q: QualityOut) -> None:
    """sd-b holds I3 and I4: their calls answered after 25 and 2 s; one of two referred."""
    assert (q.incidents, q.dispatched) == (2, 1)
    assert (q.answer.calls, q.answer.answered_within_target, q.answer.share_within_target) == (2, 1, 0.5)
    assert (q.turnout.count, q.turnout.share_within_target) == (1, 1.0)
    assert q.community_care.share == 0.5
    assert (q.handover.arrived, q.handover.refusals, q.handover.share_within_target) == (1, 1, None)


async def test_indicators_on_postgresql(app: Any) -> None:
    await recorded(app)
    check_november(await november(app))
    check_sub_district_b(await november(app, sub_district_id="sd-b"))
    sealed = await november(app, zone_id="zone-sealed")
    assert (sealed.incidents, sealed.response.p90_s) == (2, 700.0)


async def test_indicators_on_postgresql_read_on_two_connections(make_app: Any) -> None:
    """A hub on its own engine reads the chain and the calls side by side on one snapshot."""
    app = make_app(background_tasks=False)
    async with running(app):
        await recorded(app)
        check_november(await november(app))
        check_sub_district_b(await november(app, sub_district_id="sd-b"))


async def test_indicators_on_embedded_sqlite(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, background_tasks=False, secret_key=TEST_SECRET))
    async with running(app):
        await recorded(app)
        check_november(await november(app))
        check_sub_district_b(await november(app, sub_district_id="sd-b"))


async def test_a_rolling_window_and_its_gauges(app: Any) -> None:
    """The last hour at T0 + 3 h holds C3 (rung at exactly the window's start) and I3 only."""
    await recorded(app)
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        q = await service.compute(session=session, rt=rt, window="1h", now=t(10800))
    assert (q.answer.calls, q.answer.answered, q.answer.share_within_target) == (1, 1, 0.0)
    assert (q.incidents, q.turnout.share_within_target, q.response.p50_s) == (1, 1.0, 700.0)
    assert (q.handover.refusals, q.handover.share_within_target) == (1, None)
    async with client_for(app) as http:
        metrics = (await http.get("/metrics")).text
    assert 'dispatch_quality_indicator{indicator="turnout_within_3min",window="1h"} 1.0' in metrics
    assert 'dispatch_quality_indicator{indicator="response_p50",window="1h"} 700.0' in metrics


async def test_the_route_for_supervisors(app: Any, client: httpx.AsyncClient) -> None:
    await recorded(app)
    reply = await client.get("/api/v1/quality", params={"month": "2026-11", "sub_district_id": "sd-b"})
    assert reply.status_code == 200, reply.text
    check_sub_district_b(QualityOut.model_validate(reply.json()))
    assert (await client.get("/api/v1/quality", params={"window": "15m"})).json()["window"] == "15m"
    for params, field in (({"month": "2026-13"}, "query.month"), ({"month": "11-2026"}, "query.month"),
                          ({"month": "0000-01"}, "query.month"), ({"month": "9999-12"}, "query.month"),
                          ({"window": "2h"}, "window"),
                          ({"window": "1h", "month": "2026-11"}, "query.window")):
        bad = await client.get("/api/v1/quality", params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.headers["content-type"] == "application/problem+json"
        assert field in bad.text, (params, bad.text)
    call_taker = {"Authorization": f"Bearer {token_for('call_taker')}"}
    refused = await client.get("/api/v1/quality", headers=call_taker)
    assert refused.status_code == 403
    supervisor = {"Authorization": f"Bearer {token_for('supervisor')}"}
    assert (await client.get("/api/v1/quality", headers=supervisor)).status_code == 200


async def test_the_monthly_report_in_three_formats(app: Any, client: httpx.AsyncClient) -> None:
    await recorded(app)
    csv_reply = await client.get("/api/v1/quality/report", params={"month": "2026-11", "format": "csv"})
    assert csv_reply.status_code == 200, csv_reply.text
    assert csv_reply.headers["content-type"].startswith("text/csv")
    lines = csv_reply.text.splitlines()
    assert lines[0].startswith("incident_id,created_at,status,severity,zone_status")
    assert len(lines) == 6  # five incidents in November
    second = lines[2].split(",")  # I2, in the centre's time (UTC+8): T0 is 10:00
    assert second[1:6] == ["2026-11-10T11:00:30+08:00", "closed", "urgent", "", "sd-a"]
    assert second[6:14] == ["2026-11-10T11:00:00+08:00", "2026-11-10T11:00:04+08:00",
                            "2026-11-10T11:01:40+08:00", "2026-11-10T11:06:30+08:00",
                            "2026-11-10T11:16:40+08:00", "2026-11-10T11:26:40+08:00",
                            "2026-11-10T11:36:40+08:00", "2026-11-10T11:56:40+08:00"]
    assert second[14:] == ["2", "U2 U1"]
    assert "13800" not in csv_reply.text  # no caller numbers, no addresses
    page = await client.get("/api/v1/quality/report", params={"month": "2026-11"})
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert text.count("<svg") == 4
    assert "<script" not in text
    assert not any(f'{attr}="http' in text for attr in ("src", "href"))  # needs nothing else
    for shown in ("10秒接听率", "50.0%", "3分钟出车率", "66.7%", "4:50", "fails 未达标"):
        assert shown in text, shown
    pdf = await client.get("/api/v1/quality/report", params={"month": "2026-11", "format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf.content)) == 2  # the table, the plots
    for fmt in ("html", "pdf", "csv"):  # a month with nothing recorded
        empty = await client.get("/api/v1/quality/report", params={"month": "2026-01", "format": fmt})
        assert empty.status_code == 200, (fmt, empty.text)
    assert empty.text == ",".join(report.TIMELINE) + "\n"
    bad = await client.get("/api/v1/quality/report", params={"month": "2026-00", "format": "pdf"})
    assert bad.status_code == 422
    assert "query.month" in bad.text
    bad = await client.get("/api/v1/quality/report", params={"month": "2026-11", "format": "doc"})
    assert bad.status_code == 422
    assert "format" in bad.text
    dispatcher = {"Authorization": f"Bearer {token_for('dispatcher')}"}
    assert (await client.get("/api/v1/quality/report", params={"month": "2026-11"},
                             headers=dispatcher)).status_code == 403


def test_dispatch_report_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`dispatch report --month 2026-11` on the embedded default writes the three files."""
    data = tmp_path / "var"

    async def record() -> None:
        app = create_app(Settings(data_dir=data, background_tasks=False, secret_key=TEST_SECRET))
        async with running(app):
            await recorded(app)

    asyncio.run(record())
    for name in ("DISPATCH_DATABASE_URL", "DISPATCH_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPATCH_DATA_DIR", str(data))
    monkeypatch.setenv("DISPATCH_SECRET_KEY", TEST_SECRET)
    cli.main(["report", "--month", "2026-11", "--out", str(tmp_path / "out")])
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["quality-2026-11.csv", "quality-2026-11.html", "quality-2026-11.pdf"]
    assert len((tmp_path / "out" / "quality-2026-11.csv").read_text().splitlines()) == 6
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        cli.main(["report", "--month", "November", "--out", str(tmp_path / "out")])
    assert refused.value.code == 2
    assert "query.month" in capsys.readouterr().err


async def test_coverage_now_follows_the_units_and_the_radius(app: Any, client: httpx.AsyncClient) -> None:
    """North (100,000 people) and south (50,000) are 6.7 km apart, each a disc of 0.5 km round its
    post: with every unit available all are within 5 km of one; with the south's only unit out
    of service, no one in the south is, unless the south is rural (15 km)."""
    small = factories.small_scenario()
    for sd in small["sub_districts"]:
        sd["radius_km"] = 0.5
    await factories.load(app, small)
    reply = await client.get("/api/v1/quality/coverage")
    assert reply.status_code == 200, reply.text
    now = reply.json()
    assert (now["population"], now["covered_share"], now["out_of_cover"]) == (150000, 1.0, [])
    # A1, A2 (negative pressure) and B1 are ambulances.
    assert (now["ambulances"], now["negative_pressure"], now["negative_pressure_share"]) == (3, 1, 0.3333)
    rt = app.state.runtime
    assert await timers.check(rt) == ([], [])
    moved = await client.post("/api/v1/units/B1/status", json={"status": "out_of_service"})
    assert moved.status_code == 200, moved.text
    assert await timers.check(rt) == (["south"], [])  # consoles warned once
    assert await timers.check(rt) == ([], [])
    now = (await client.get("/api/v1/quality/coverage")).json()
    assert (now["covered_population"], now["covered_share"]) == (100000, 0.6667)
    assert now["out_of_cover"] == ["south"]
    assert (now["available"], now["available_negative_pressure_share"]) == (2, 0.5)
    rt.settings = rt.settings.model_copy(update={"rural_sub_districts": ["south"]})
    now = (await client.get("/api/v1/quality/coverage")).json()
    assert (now["covered_share"], now["out_of_cover"]) == (1.0, [])
    assert {a["sub_district_id"]: a["radius_km"] for a in now["areas"]} == {"north": 5.0, "south": 15.0}
    assert await timers.check(rt) == ([], ["south"])  # covered again at the rural radius
    async with client_for(app) as http:
        metrics = (await http.get("/metrics")).text
    assert 'dispatch_quality_indicator{indicator="negative_pressure_available",window="now"} 0.5' in metrics
    dispatcher = {"Authorization": f"Bearer {token_for('dispatcher')}"}
    assert (await client.get("/api/v1/quality/coverage", headers=dispatcher)).status_code == 403


def test_the_replay_reports_turnout_and_response_from_a_streams_unit_times() -> None:
    """Turnout from each call's first dispatch to its first unit en route: 140, 180 (a first
    unit that never left, the second out at 3 min exactly: within) and 250 s; a call with no
    unit is not counted. Response from the first ring to the first unit on scene."""
    rung = datetime(2026, 11, 10, tzinfo=UTC)

    def call(name: str, severity: str, *units: dict[str, Any]) -> CallRecord:
        return CallRecord(id=name, rung_at=rung, severity=Severity(severity),
                          units=tuple(UnitTimes(**u) for u in units))

    stream = CallStream.of(StreamHeader(name="hand-worked"), [
        call("a", "urgent", {"id": "U1", "dispatched_s": 60, "en_route_s": 200, "on_scene_s": 600}),
        call("b", "urgent", {"id": "U2", "dispatched_s": 100},
             {"id": "U3", "dispatched_s": 150, "en_route_s": 280, "on_scene_s": 700}),
        call("c", "non_urgent"),
        call("d", "critical", {"id": "U4", "dispatched_s": 50, "en_route_s": 300, "on_scene_s": 900}),
    ])
    figures = turnout.unit_figures(stream)
    assert figures is not None
    assert figures["calls_dispatched"] == 3
    t = figures["turnout"]
    assert (t["count"], t["within_3min"], t["share_within_3min"], t["p50_s"], t["p90_s"]) == (
        3, 2, 0.6667, 180.0, 250.0)
    assert (figures["response"]["p50_s"], figures["response"]["p90_s"]) == (700.0, 900.0)
    assert {k: v["p90_s"] for k, v in figures["response_by_severity"].items()} == {
        "critical": 900.0, "urgent": 700.0}
    assert turnout.unit_figures(CallStream.of(StreamHeader(name="no units"), [call("c", "urgent")])) is None
    assert "out within 3 min 66.7 %" in (turnout.summary_line(figures) or "")


async def test_a_crews_reports_write_each_step_on_its_job(app: Any, clock: Any) -> None:
    """The steps the indicators read are written as the crew reports them: two jobs of one unit
    in a row keep their own times, and the window's turnout and response come from them."""
    await factories.load(app, scenario_with_two_hospitals())
    rt = app.state.runtime
    jobs = []
    for turnout_s, drive_s in ((60, 400), (200, 900)):
        job = await assignment_to(app, "general")
        for status, after in (("en_route", turnout_s), ("on_scene", drive_s), ("transporting", 300),
                              ("at_hospital", 600)):
            clock.advance(after)
            await move(app, "A1", status)
        clock.advance(120)
        async with rt.sessionmaker() as session:
            await unit_status.change_status(session=session, rt=rt, unit_id="A1",
                                            to=UnitStatus.HANDOVER_DONE, actor=CREW,
                                            reason="handed_over_in_person")
        await move(app, "A1", "available")
        jobs.append(job)
    async with rt.sessionmaker() as session:
        rows = [await session.get(Assignment, job.id) for job in jobs]
        steps = [[(getattr(r, c) - r.confirmed_at).total_seconds()
                  for c in ("en_route_at", "on_scene_at", "left_scene_at", "at_hospital_at")]
                 for r in rows if r is not None]
        assert steps == [[60, 460, 760, 1360], [200, 1100, 1400, 2000]]
        q = await service.compute(session=session, rt=rt, window="24h")
    assert (q.turnout.count, q.turnout.within_target, q.turnout.p90_s) == (2, 1, 200.0)
    assert (q.on_scene.p50_s, q.transport.p90_s) == (300.0, 600.0)


async def test_the_migration_fills_the_steps_of_jobs_recorded_before_it(tmp_path: Path) -> None:
    """Jobs recorded before the step columns existed get them from the units' status history:
    go back to the revision before, forward again, and every hand-worked figure still holds."""
    settings = Settings(data_dir=tmp_path, background_tasks=False, secret_key=TEST_SECRET)
    app = create_app(settings)
    async with running(app):
        await recorded(app)
    url = settings.effective_database_url
    config = migrate.alembic_config(url)
    await asyncio.to_thread(command.downgrade, config, "20261207_unit_status")
    await migrate.upgrade(url)
    app = create_app(settings)
    async with running(app):
        check_november(await november(app))
