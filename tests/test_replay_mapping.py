"""A city's own export replayed through a mapping file, with crews simulated from the SF
stream's intervals when the export has no unit times (issue 25)."""

from __future__ import annotations

import difflib
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.cli import main
from dispatch.replay import html, report
from dispatch.replay.adapters import open_stream
from dispatch.replay.area import build_scenario, fleet_size
from dispatch.replay.client import Tokens
from dispatch.replay.config import ReplayConfig
from dispatch.replay.engine import Replay
from dispatch.replay.mapping import MappingError, parse_mapping
from dispatch.replay.simulated import Intervals, with_crews
from dispatch.replay.stream import MILESTONES, CallStream, schedule
from tests import factories
from tests.conftest import TEST_SECRET, running, serve

pytestmark = pytest.mark.timeout(120)

# A 120 centre's export: its own column names, Chinese call types, times to the minute, no units.
EXPORT = """\
受理编号,呼入时刻,纬度,经度,所属区县,呼救原因,分级,备注
XA-0001,2026-11-02 08:01,34.2610,108.9420,新城区,心脏骤停,1,
XA-0002,2026-11-02 08:01,34.2450,108.9100,碑林区,胸痛,1,
XA-0003,2026-11-02 08:02,34.2200,108.9500,雁塔区,摔伤,3,
XA-0004,2026-11-02 08:03,34.2700,108.9000,莲湖区,火灾,2,
XA-0005,2026-11-02 08:03,34.2615,108.9430,新城区,腹痛,3,
XA-0006,2026-11-02 08:04,34.2460,108.9110,碑林区,呼吸困难,1,
XA-0007,2026-11-02 08:05,34.2210,108.9510,雁塔区,咨询,4,
XA-0008,2026-11-02 08:06,34.2710,108.9010,莲湖区,孕妇临产,2,
"""
MEDICAL = {"XA-0001", "XA-0002", "XA-0003", "XA-0005", "XA-0006", "XA-0008"}

MAPPING = """\
name: xian-120-export
columns: {call_id: 受理编号, rung_at: 呼入时刻, lat: 纬度, lon: 经度, area: 所属区县,
          call_type: 呼救原因, priority: 分级}
times: {format: "%Y-%m-%d %H:%M", timezone: Asia/Shanghai, spread: even}
priorities: {"1": critical, "2": urgent, "3": non_urgent}
types:
  - {pattern: "心脏|胸痛|呼吸", severity: critical}
  - {pattern: "孕妇|临产", severity: urgent, category: pregnant}
  - {pattern: "火灾|咨询", medical: false}
"""


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sf_intervals() -> Intervals:
    return Intervals.of(open_stream("sf"))


def test_a_mapping_reads_foreign_columns_and_chinese_call_types(tmp_path: Path, export: Path) -> None:
    (tmp_path / "city.yaml").write_text(MAPPING, encoding="utf-8")
    stream = open_stream(str(export), mapping=tmp_path / "city.yaml")
    by_id = {c.id: c for c in stream.calls}
    assert {i for i, c in by_id.items() if c.medical} == MEDICAL
    assert by_id["XA-0001"].severity == "critical"  # by the pattern
    assert by_id["XA-0003"].severity == "non_urgent"  # no rule: by its priority
    assert by_id["XA-0008"].category == "pregnant"
    assert (by_id["XA-0003"].complaint, by_id["XA-0003"].area) == ("摔伤", "雁塔区")
    # Two calls written at 08:01 are spread over that minute, in the centre's zone.
    assert [by_id[i].rung_at.isoformat() for i in ("XA-0001", "XA-0002")] == [
        "2026-11-02T08:01:15+08:00", "2026-11-02T08:01:45+08:00"]
    assert not any(c.units for c in stream.calls)
    # Areas named only in Chinese stay apart in the scenario.
    scenario = build_scenario(stream, positions=2)
    assert len(scenario["sub_districts"]) == 4
    assert len(scenario["units"]) == fleet_size(stream) == 2  # 8,000 people: the minimum


def test_mapping_errors_name_each_field_on_one_line(tmp_path: Path, export: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = MAPPING.replace("Asia/Shanghai", "TODO").replace("呼救原因", "类型").replace(
        "severity: urgent", "severity: soon")
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(export), "--map", str(tmp_path / "bad.yaml"), "--write-stream",
              str(tmp_path / "x.jsonl")])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0] == "error: bad.yaml: times.timezone: still TODO: fill it in"
    assert lines[1].startswith("error: bad.yaml: types[1].severity: Input should be 'critical'")
    # A valid mapping naming a column the CSV lacks.
    (tmp_path / "cols.yaml").write_text(MAPPING.replace("呼救原因", "类型"), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["replay", str(export), "--map", str(tmp_path / "cols.yaml")])
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: export.csv: columns.call_type: no column '类型' in the CSV")
    with pytest.raises(MappingError, match="give either type or pattern"):
        parse_mapping(MAPPING.replace('{pattern: "火灾|咨询"', '{type: 火灾, pattern: "咨询"'), "m")


def test_simulated_crews_follow_whole_sf_responses(tmp_path: Path, export: Path,
                                                   sf_intervals: Intervals) -> None:
    (tmp_path / "city.yaml").write_text(MAPPING, encoding="utf-8")
    own = open_stream(str(export), mapping=tmp_path / "city.yaml")
    stream = with_crews(own, sf_intervals, seed=1)
    assert len(sf_intervals.steps) > 1000  # SF ambulance responses with all six milestones
    for call in stream.calls:
        assert len(call.units) == (1 if call.medical else 0)
        for unit in call.units:
            times = [getattr(unit, m) for m in MILESTONES]
            assert None not in times
            assert times == sorted(times)
    assert stream.simulated[0] == "ring times within each 60 s the export writes, spread even"
    assert stream.simulated[1].startswith("unit timelines: one ambulance per medical call")
    # The intervals are SF's: the median time from dispatch to available is an hour or so.
    rng = random.Random(2)
    cycles = sorted(sum(rng.choice(sf_intervals.steps)[1:]) for _ in range(500))
    assert 1800 < cycles[250] < 7200


async def replay_without_units(app: Any, own: CallStream, pg_engine: AsyncEngine,
                               intervals: Intervals, label: str) -> dict[str, Any]:
    """Replay a stream without units on a fleet of 4, and check every medical call's job."""
    stream = with_crews(own, intervals, seed=3)
    config = ReplayConfig(url="", speed=2400, human_time="scaled", positions=4, consoles=1,
                          progress=False, settle_seconds=3, label=label)
    async with running(app), serve(app) as address:
        await factories.load(app, build_scenario(own, positions=4, name=label, fleet=4))
        config.url = f"http://{address}"
        replay = Replay(config, schedule(stream, run=label), Tokens.minted(TEST_SECRET, run=label))
        info = await replay.run()
    result = report.build(config, stream, replay.recorder, info, {"url": "test"})
    print(report.summary(result))
    assert result["lost"] == {"total": 0, "by_kind": {}}
    assert result["errors"] == {}
    assert result["calls"]["offered"] == len(own.calls)
    assert result["calls"]["incidents"] == len(MEDICAL)
    assert result["stream"]["simulated"] == list(stream.simulated)
    assert "simulated by the replay: ring times within each 60 s" in html.render(result)
    async with pg_engine.connect() as connection:
        rows = (await connection.execute(text("""
            SELECT c.telephony_id, a.status,
                   EXISTS (SELECT 1 FROM unit_events e WHERE e.unit_id = a.unit_id
                           AND e.to_status = 'available' AND e.at >= a.ended_at) AS back
            FROM calls c LEFT JOIN assignments a ON a.incident_id = c.incident_id
            WHERE c.telephony_id LIKE :run"""), {"run": f"%-{label}"})).all()
    jobs: dict[str, list[tuple[str | None, bool]]] = {}
    for telephony_id, status, back in rows:
        jobs.setdefault(telephony_id.removesuffix(f"-{label}"), []).append((status, back))
    assert set(jobs) == {c.id for c in own.calls}
    for call_id, assignments in jobs.items():
        if call_id in MEDICAL:  # dispatched, handed over, and the unit available again
            assert assignments == [("completed", True)], call_id
        else:
            assert assignments == [(None, False)], call_id
    return result


@pytest.mark.committed
@pytest.mark.slow
async def test_an_export_without_units_is_dispatched_by_a_simulated_fleet(
    make_app: Any, pg_engine: AsyncEngine, tmp_path: Path, export: Path, sf_intervals: Intervals
) -> None:
    (tmp_path / "city.yaml").write_text(MAPPING, encoding="utf-8")
    own = open_stream(str(export), mapping=tmp_path / "city.yaml")
    app = make_app(intake_rate_per_second=100_000)
    result = await replay_without_units(app, own, pg_engine, sf_intervals, "mapped")
    assert result["throughput"]["by_kind"]["assignment"] == len(MEDICAL)


@pytest.mark.committed
@pytest.mark.slow
async def test_a_drafted_mapping_completed_in_a_few_lines_replays(
    make_app: Any, pg_engine: AsyncEngine, tmp_path: Path, export: Path, sf_intervals: Intervals
) -> None:
    drafted = tmp_path / "drafted.yaml"
    main(["replay", "--write-map", str(export), "--map", str(drafted)])
    draft = drafted.read_text(encoding="utf-8")
    with pytest.raises(MappingError, match=r"times\.timezone: still TODO"):
        parse_mapping(draft, "drafted.yaml")
    mapping = yaml.safe_load(draft)
    # Guessed from the header and values: every column but the priority's, and the time format.
    assert mapping["columns"] == {"call_id": "受理编号", "rung_at": "呼入时刻", "lat": "纬度",
                                  "lon": "经度", "area": "所属区县", "call_type": "呼救原因",
                                  "priority": None, "unit_id": None}
    assert mapping["times"]["format"] == "%Y-%m-%d %H:%M"
    assert [t["type"] for t in mapping["types"]][:2] == ["心脏骤停", "胸痛"]
    # A person's completion: the zone, the priority column, and what two types mean.
    completed = (draft.replace("timezone: TODO", "timezone: Asia/Shanghai")
                 .replace("  priority: null", "  priority: 分级")
                 .replace("- type: 摔伤\n  severity: null", "- type: 摔伤\n  severity: non_urgent")
                 .replace("- type: 孕妇临产\n  severity: null\n",
                          "- type: 孕妇临产\n  severity: urgent\n  category: pregnant\n"))
    changed = [d for d in difflib.unified_diff(draft.splitlines(), completed.splitlines(), n=0)
               if d.startswith("+") and not d.startswith("+++")]
    assert 0 < len(changed) < 10
    drafted.write_text(completed, encoding="utf-8")
    own = open_stream(str(export), mapping=drafted)
    by_id = {c.id: c for c in own.calls}
    assert {i for i, c in by_id.items() if c.medical} == MEDICAL  # 火灾 and 咨询 guessed not
    assert by_id["XA-0006"].severity == "critical"  # 呼吸困难, guessed
    app = make_app(intake_rate_per_second=100_000)
    await replay_without_units(app, own, pg_engine, sf_intervals, "drafted")


def test_a_mapping_with_unit_columns_groups_rows_into_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "county.csv"
    export.write_text(
        "Incident,Opened,Nature,Unit,Dispatched,Enroute,Arrived,Cleared\n"
        "C1,2024-03-01T10:00:05,SICK PERSON,M1,2024-03-01T10:01:05,2024-03-01T10:02:05,"
        "2024-03-01T10:09:05,2024-03-01T11:00:05\n"
        "C1,2024-03-01T10:00:05,SICK PERSON,M2,2024-03-01T10:01:35,2024-03-01T10:00:35,,"
        "2024-03-01T10:20:05\n"
        "C2,2024-03-01T10:30:00,STRUCTURE FIRE,,,,,\n", encoding="utf-8")
    (tmp_path / "county.yaml").write_text("""\
name: county
columns: {call_id: Incident, rung_at: Opened, call_type: Nature, unit_id: Unit,
          milestones: {dispatched: Dispatched, en_route: Enroute, on_scene: Arrived,
                       available: Cleared}}
times: {format: "%Y-%m-%dT%H:%M:%S", timezone: America/New_York}
types: [{pattern: "FIRE", medical: false}]
""", encoding="utf-8")
    stream = open_stream(str(export), mapping=tmp_path / "county.yaml")
    first, second = stream.calls
    assert (first.id, first.rung_at.isoformat(), first.medical) == (
        "C1", "2024-03-01T10:00:05-05:00", True)
    assert second.units == ()
    assert not second.medical
    m1, m2 = first.units
    assert (m1.dispatched_s, m1.en_route_s, m1.on_scene_s, m1.available_s) == (60, 120, 540, 3600)
    # En route before dispatched is a data-entry error: dropped, the rest kept.
    assert (m2.dispatched_s, m2.en_route_s, m2.available_s) == (90, None, 1200)
    assert stream.simulated == ()  # times to the second: nothing spread
    # A stream with its own units is replayed on them: --units is refused for it.
    with pytest.raises(SystemExit, match="2"):
        main(["replay", str(export), "--map", str(tmp_path / "county.yaml"), "--units", "5",
              "--url", "http://hub", "--token", "t"])
    assert capsys.readouterr().err == "error: --units: this stream has its own units\n"
    # The draft never overwrites a file.
    with pytest.raises(SystemExit, match="2"):
        main(["replay", "--write-map", str(export), "--map", str(tmp_path / "county.yaml")])
    assert "county.yaml exists" in capsys.readouterr().err
