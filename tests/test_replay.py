"""Smoke test of the call-stream replay: an hour of the San Francisco week, at high speed,
against a served hub on real PostgreSQL and Redis, loses nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.cli import main
from dispatch.replay import faults, html, report
from dispatch.replay.adapters import open_stream
from dispatch.replay.area import build_scenario
from dispatch.replay.client import Tokens
from dispatch.replay.config import ReplayConfig
from dispatch.replay.engine import Replay, staffing
from dispatch.replay.record import CallFacts, Recorder
from dispatch.replay.stream import CallStream, read_stream, schedule, write_stream
from tests import factories
from tests.conftest import TEST_SECRET, running, serve

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def busiest_hour() -> CallStream:
    stream = open_stream("sf")
    return stream.window(stream.busiest_hour(), 1.0)


def test_sf_adapter_groups_unit_rows_into_calls() -> None:
    stream = open_stream("sf")
    assert len(stream.calls) == 3560  # 7,704 unit rows
    assert sum(c.medical for c in stream.calls) == 2903
    ambulance_rows = sum(len(c.units) for c in stream.calls)
    assert ambulance_rows == 2388 + 757  # MEDIC + PRIVATE rows
    first = stream.calls[0]
    assert first.id == "sf-163660008"
    assert not first.medical  # a gas leak: answered, no incident
    assert first.units == ()
    assert first.rung_at.isoformat() == "2016-12-31T00:01:04-08:00"
    for call in stream.calls:
        for unit in call.units:
            times = [t for t in (unit.dispatched_s, unit.en_route_s, unit.on_scene_s,
                                 unit.transporting_s, unit.at_hospital_s, unit.available_s)
                     if t is not None]
            assert times == sorted(times)


def test_stream_file_round_trips(tmp_path: Path, busiest_hour: CallStream) -> None:
    path = tmp_path / "hour.jsonl.gz"
    write_stream(busiest_hour, path)
    again = read_stream(path)
    assert again.calls == busiest_hour.calls
    assert again.header == busiest_hour.header


def test_overlay_rotates_copies_without_clashing_ids(busiest_hour: CallStream) -> None:
    items = schedule(busiest_hour, run="r1", overlay=3)
    assert len(items) == 3 * len(busiest_hour.calls)
    assert len({i.telephony_id for i in items}) == len(items)
    assert all(0 <= i.at <= busiest_hour.span_seconds for i in items)
    assert [i.at for i in items] == sorted(i.at for i in items)


@pytest.mark.committed
@pytest.mark.slow
async def test_an_hour_of_the_sf_stream_replays_with_nothing_lost(
    make_app: Any, pg_engine: AsyncEngine, tmp_path: Path, busiest_hour: CallStream
) -> None:
    calls = len(busiest_hour.calls)
    assert calls == 49  # New Year's night
    app = make_app(intake_rate_per_second=100_000)
    config = ReplayConfig(url="", speed=720, human_time="scaled", positions=8, consoles=2,
                          progress=False, drain_seconds=30, settle_seconds=5, label="smoke")
    async with running(app), serve(app) as address:
        await factories.load(app, build_scenario(busiest_hour, positions=8, name="smoke"))
        config.url = f"http://{address}"
        replay = Replay(config, schedule(busiest_hour, run="smoke"), Tokens.minted(TEST_SECRET, run="t"))
        info = await replay.run()
    result = report.build(config, busiest_hour, replay.recorder, info, {"url": "test"})
    print(report.summary(result))

    assert result["lost"] == {"total": 0, "by_kind": {}}
    assert result["errors"] == {}
    assert result["recorded_differently"] == {}
    assert result["calls"]["offered"] == calls
    assert result["calls"]["answered"] + result["calls"]["abandoned"] == calls
    assert result["calls"]["unfinished"] == 0
    medical = sum(1 for c in busiest_hour.calls if c.medical and c.location)
    assert result["calls"]["incidents"] == medical - sum(
        1 for f in replay.recorder.calls.values() if f.abandoned and f.scheduled.call.medical)
    # Every console saw every ring, and each ring has its hub-added latency.
    assert result["latency"]["ring_to_console"]["count"] == calls * 2
    # Every answered call was offered first; a caller who hangs up (their patience is scaled
    # with the stream, 14 ms here) may go before an offer on a loaded machine.
    assert result["calls"]["answered"] <= result["latency"]["ring_to_offer"]["count"] <= calls
    assert result["throughput"]["by_kind"]["ring"] == calls
    # Crews ran on the hub's fleet: every assignment reached its unit's tablet.
    assert result["config"]["crews"] is True
    assignments = result["throughput"]["by_kind"]["assignment"]
    assert assignments > 0
    assert result["latency"]["assignment_to_crew"]["count"] == assignments
    assert result["throughput"]["by_kind"]["unit_status"] >= assignments
    async with pg_engine.connect() as connection:
        stored = await connection.scalar(text(
            "SELECT count(*) FROM calls WHERE telephony_id LIKE 'sf-%-smoke'"))
        routed = await connection.scalar(text("SELECT count(DISTINCT incident_id) FROM routing_decisions"))
    assert stored == calls
    assert routed == result["calls"]["incidents"]

    page = html.render(result)
    assert page.count("<svg") == 4
    assert "Events lost: 0" in page
    # Self-contained: no scripts, no links to load anything from.
    assert "<script" not in page
    assert "src=" not in page
    assert "href=" not in page


def test_staffing_covers_a_burst_shorter_than_a_call(busiest_hour: CallStream) -> None:
    # New Year's night at 100x: 49 calls ring within 35 s, each keeps a call-taker ~90 s.
    burst = staffing(schedule(busiest_hour, run="s"), ReplayConfig(url="", speed=100))
    assert burst == 49
    # In real time the same hour needs about ten (Erlang C on its busiest minutes, 95 % in 10 s).
    assert 5 <= staffing(schedule(busiest_hour, run="s"), ReplayConfig(url="", speed=1)) <= 12


def test_the_command_converts_a_csv_into_a_stream(tmp_path: Path) -> None:
    out = tmp_path / "night.jsonl"
    main(["replay", "sf", "--start", "2017-01-01T00:00", "--hours", "2", "--write-stream", str(out)])
    stream = read_stream(out)
    assert stream.header.timezone == "America/Los_Angeles"
    assert len(stream.calls) == 77
    assert all(c.rung_at.hour in (0, 1) for c in stream.calls)
    assert "Block" not in out.read_text()  # no addresses in a stream


def test_cpu_figures_put_every_process_on_one_bar() -> None:
    # 1,000 call events in 10 s: hub 12 s, simulation 1 s, PostgreSQL 3 s, Redis 0.5 s of CPU.
    info = {"hub_cpu_s": 12.0, "client_cpu_s": 1.0,
            "server_cpu_s": {"postgresql": 3.0, "redis": 0.5}}
    figures = report.cpu_figures(info, events=1000, elapsed=10.0)
    assert figures["hub_cores_busy"] == 1.2
    assert figures["ms_per_call_event"] == {"hub": 12.0, "simulation": 1.0, "postgresql": 3.0,
                                            "redis": 0.5}
    # 16.5 ms per call event at 500 call events/s: 8.25 cores.
    assert figures["cores_at_bar_rate"] == 8.25
    # A hub the replay did not start: nothing to add up.
    assert report.cpu_figures({"client_cpu_s": 1.0}, events=1000, elapsed=10.0)["cores_at_bar_rate"] is None


def test_only_servers_on_this_host_are_counted() -> None:
    from dispatch.replay import ownhub

    local = ownhub.local_servers("postgresql+asyncpg://postgres@127.0.0.1:5432/x", "redis://localhost:6379/0")
    assert local == {"postgresql", "redis"}
    assert ownhub.local_servers("postgresql+asyncpg://db.example:5432/x", "redis://cache.example/0") == set()
    assert ownhub.local_servers("sqlite+aiosqlite:///hub.db", "redis://10.0.0.5/0") == set()
    assert ownhub.server_cpu_seconds(set()) == {}
    # This host runs the test Redis: it is found by name, and its CPU time only grows.
    assert any(name == "redis-server" for _, name, _, _ in (ownhub.processes() or {}).values())
    first = ownhub.server_cpu_seconds({"redis"})["redis"]
    assert ownhub.server_cpu_seconds({"redis"})["redis"] >= first >= 0


def test_fault_specs_name_their_time_and_bad_ones_the_option() -> None:
    assert faults.parse("redis-flush@40s") == faults.Fault("redis-flush", 40.0)
    assert faults.parse("hub-kill@1m30s").at_s == 90.0
    assert faults.parse("postgres-restart@12.5").label == "postgres-restart@12.5s"
    for bad in ("redis-flush", "redis-flush@", "disk-full@40s", "redis-flush@soon"):
        with pytest.raises(ValueError, match="--fault"):
            faults.parse(bad)
    # A hub the replay did not start: only its Redis can be flushed, and only if named.
    remote = faults.Target(hub_url="http://hub", redis_url=None, redis_prefix="dispatch")
    for kind in ("redis-flush", "redis-restart", "hub-kill", "postgres-restart"):
        with pytest.raises(ValueError, match=kind):
            faults.check([faults.Fault(kind, 1)], remote)
    faults.check([faults.Fault("redis-flush", 1)],
                 faults.Target(hub_url="http://hub", redis_url="redis://x/0", redis_prefix="dispatch"))


def test_the_report_splits_calls_and_latency_around_a_fault(busiest_hour: CallStream) -> None:
    config = ReplayConfig(url="", speed=100)
    rec = Recorder(started=1000.0, finished=1100.0)
    items = schedule(busiest_hour, run="f")[:4]
    # (rang, stopped ringing, answered?, answer seconds) in seconds into the run
    lives = [(10.0, 13.0, True, 3.0), (38.0, 45.0, True, 7.0), (39.5, 70.0, False, None),
             (60.0, 62.0, True, 2.0)]
    for item, (rang, settled, answered, seconds) in zip(items, lives, strict=True):
        facts = CallFacts(item, posted_at=1000.0 + rang, acknowledged=True, answered=answered,
                          abandoned=not answered, answer_seconds=seconds,
                          settled_at=1000.0 + settled)
        rec.calls[item.telephony_id] = facts
        rec.event("ring", at=1000.0 + rang)
    rec.latency("ring_to_offer", 0.010, 1000.0 + 20)
    rec.latency("ring_to_offer", 0.900, 1000.0 + 41)
    rec.latency("ring_to_console", 0.020, 1000.0 + 80)
    rec.faults.append({"kind": "redis-flush", "label": "redis-flush@40s", "what": "FLUSHDB",
                       "at_s": 40.0, "done": "FLUSHDB", "injected_s": 40.01, "whole_s": 41.2})
    [fault] = report.fault_figures(rec, config)
    assert fault["recovery_s"] == 1.2
    assert fault["window_s"] == [40.0, 51.2]  # whole again, plus the 10-s target
    before, during, after = fault["before"], fault["during"], fault["after"]
    assert (before["calls"], before["answered"], before["share_within_target"]) == (1, 1, 1.0)
    # Ringing at the fault: one answered in 7 s, one whose caller hung up.
    assert (during["calls"], during["answered"], during["abandoned"]) == (2, 1, 1)
    assert during["share_within_target"] == 0.5
    assert during["answer_max_s"] == 7.0
    assert (after["calls"], after["answered"]) == (1, 1)
    at_fault = fault["ringing_at_fault"]  # rang at 38 and 39.5 s, still ringing at 40 s
    assert (at_fault["calls"], at_fault["answered"], at_fault["abandoned"]) == (2, 1, 1)
    assert [p["hub_added"]["max_ms"] for p in (before, during, after)] == [10.0, 900.0, 20.0]
    page = html.render({**report.build(config, busiest_hour, rec, {}, {"url": "test"}),
                        "faults": [fault]})
    assert page.count("redis-flush@40s</text>") == 3  # shaded on the three timeline plots
    assert "<h3>redis-flush@40s: FLUSHDB</h3>" in page
