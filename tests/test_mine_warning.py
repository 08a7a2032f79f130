"""Mine catalogue CSV, rolling indicators and the graded warning.

Expected values are hand arithmetic on small catalogues (rates, energy sums,
apparent stress mu E / M0 and apparent volume M0^2 / (2 mu E), REFERENCES.md
"Mine seismicity") and the behaviour of synthetic catalogues built here: a
quiet Gutenberg-Richter background, then an episode with more, larger
tremors (a lower b-value), whose onset must raise the grade at the event that
causes it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quakewatch.server.analysis.mine_catalog import MineCatalog, read_catalog, write_catalog
from quakewatch.server.analysis.mine_indicators import indicators
from quakewatch.server.analysis.mine_warning import Grade, WarningTable, evaluate, load_table, status, timeline
from quakewatch.server.errors import InvalidInput

DAY = 86400.0
T0 = 1.8e9  # 2027-01-15


def _energy(m: np.ndarray) -> np.ndarray:
    return 10.0 ** (1.5 * m + 4.8)  # Gutenberg & Richter (1956) energy-magnitude relation, J


def _moment(m: np.ndarray) -> np.ndarray:
    return 10.0 ** (1.5 * m + 9.1)  # Hanks & Kanamori (1979), N m


def _catalog(times: np.ndarray, mags: np.ndarray, kinds: list[str] | None = None) -> MineCatalog:
    n = times.size
    return MineCatalog(tuple(f"e{i}" for i in range(n)), times.astype(float), np.zeros((n, 3)), mags.astype(float),
                       _energy(mags), _moment(mags), tuple(kinds or ["tremor"] * n))


def _gr(rng: np.random.Generator, n: int, b: float, mc: float = 0.5) -> np.ndarray:
    return np.round(mc - 0.05 + rng.exponential(1.0 / (b * math.log(10.0)), n), 1)


@pytest.mark.reference
def test_indicators_by_hand() -> None:
    # three tremors in the last day (M 1.0, 1.2, 2.0) and one blast, nothing before
    times = np.array([T0 - 3600, T0 - 1800, T0 - 60, T0 - 30])
    mags = np.array([1.0, 1.2, 2.0, 3.0])
    cat = _catalog(times, mags, ["tremor", "tremor", "tremor", "blast"])
    ind = indicators(cat, T0, window_s=DAY, reference_s=0.0, min_events=2)
    assert ind.n_events == 3 and ind.rate_per_day == 3.0 and ind.max_magnitude == 2.0  # the blast is not counted
    e, m0 = _energy(mags[:3]), _moment(mags[:3])
    assert ind.energy_j == pytest.approx(e.sum(), rel=1e-12)
    # mu E / M0 = 3e10 x 10^(4.8 - 9.1) for every event: the median is that value
    assert ind.apparent_stress_pa == pytest.approx(3e10 * 10 ** (4.8 - 9.1), rel=1e-12)
    assert ind.cumulative_apparent_volume_m3 == pytest.approx(float(np.sum(m0**2 / (2 * 3e10 * e))), rel=1e-12)
    assert ind.frequency_deviation is None and ind.energy_index is None  # no reference period


@pytest.mark.reference
def test_frequency_deviation_is_in_reference_standard_deviations() -> None:
    # reference windows with 2, 4, 2, 4, ... tremors (mean 3, sd of 30 alternating values), 9 in the window
    times = []
    for k in range(30):
        day_end = T0 - DAY * (k + 1)
        times += [day_end - 100.0 * (i + 1) for i in range(2 if k % 2 else 4)]
    times += [T0 - 100.0 * (i + 1) for i in range(9)]
    t = np.sort(np.array(times))
    # a blast at the start of the oldest reference day: the catalogue covers all 30 (blasts count for nothing else)
    t = np.concatenate([[T0 - 31 * DAY], t])
    cat = _catalog(t, np.full(t.size, 1.0), ["blast"] + ["tremor"] * (t.size - 1))
    ind = indicators(cat, T0, window_s=DAY, reference_s=30 * DAY, min_events=2)
    ref = np.array([4.0 if k % 2 == 0 else 2.0 for k in range(30)])
    assert ind.frequency_deviation == pytest.approx((9 - ref.mean()) / ref.std(ddof=1), rel=1e-12)


def test_csv_round_trip_and_errors(tmp_path: Path) -> None:
    text = ("event_id,time,x_m,y_m,z_m,magnitude,energy_j,moment_nm,type\n"
            "b,2026-11-29T03:00:01Z,10,20,-500,1.2,1.5e6,,blast\n"
            "a,2026-11-29T03:00:00+08:00,11,21,-510,0.8,,,\n")
    cat = read_catalog(text)
    assert cat.event_id == ("a", "b") and cat.type == ("tremor", "blast")  # time order; type defaults to tremor
    assert np.isnan(cat.energy_j[0]) and cat.energy_j[1] == 1.5e6
    again = read_catalog(write_catalog(cat))
    assert again.event_id == cat.event_id and np.array_equal(again.time_s, cat.time_s)
    np.testing.assert_array_equal(again.xyz_m, cat.xyz_m)
    for bad, needle in (
        (text.replace("1.2,1.5e6", "big,1.5e6"), "row 2: magnitude 'big' is not a number"),
        (text.replace("2026-11-29T03:00:01Z", "2026-11-29T03:00:01"), "row 2: time '2026-11-29T03:00:01' needs a zone"),
        (text.replace(",blast", ",quarry"), "row 2: type 'quarry' is not one of"),
        (text.replace("a,2026", "b,2026"), "row 3: event_id 'b' is empty or repeated"),
        (text.replace("type\n", "type,depth\n"), "unknown column(s) depth"),
    ):
        with pytest.raises(InvalidInput, match=needle.replace("(", r"\(").replace(")", r"\)")):
            read_catalog(bad)


def test_a_table_rejects_unknown_indicators_and_order(tmp_path: Path) -> None:
    base = {"id": "t", "version": "1", "title": "t", "grades": [{"grade": "weak", "any": [{"max_magnitude": {"at_least": 1}}]}]}
    assert WarningTable.model_validate(base).grades[0].grade == "weak"
    bad = {**base, "grades": [{"grade": "weak", "any": [{"max_magnitud": {"at_least": 1}}]}]}
    with pytest.raises(Exception, match="max_magnitud"):
        WarningTable.model_validate(bad)
    order = {**base, "grades": [base["grades"][0], {"grade": "strong", "any": [{"b_value": {"less_than": 0.7}}]}]}
    with pytest.raises(Exception, match="most severe first"):
        WarningTable.model_validate(order)
    path = tmp_path / "t.yaml"
    path.write_text("id: t\nversion: '1'\ntitle: t\ngrades: []\ncolour: red\n")
    with pytest.raises(InvalidInput, match="colour"):
        load_table(path)


def test_grade_boundaries_are_exact() -> None:
    table = load_table()
    cat = _catalog(np.array([T0 - 10.0]), np.array([2.5]))
    assert status(cat, table, T0).grade is Grade.STRONG
    cat = _catalog(np.array([T0 - 10.0]), np.array([2.4999]))
    g = status(cat, table, T0)
    assert g.grade is Grade.MEDIUM and g.reasons == ("max_magnitude 2.5 >= 2",)
    assert status(_catalog(np.array([T0 - 10.0]), np.array([1.4])), table, T0).grade is Grade.NONE


def test_an_episode_raises_the_grade_at_the_event_that_causes_it() -> None:
    rng = np.random.default_rng(7)
    # 40 quiet days: 8 tremors a day, b = 1.2, M >= 0.5 (largest well below 1.5)
    n_bg = 320
    t_bg = np.sort(rng.uniform(T0 - 40 * DAY, T0 - 2 * DAY, n_bg))
    m_bg = np.minimum(_gr(rng, n_bg, 1.2), 1.3)
    # then an episode: 60 tremors in one day with b = 0.6, the largest M 2.0 at the end
    t_ep = np.sort(rng.uniform(T0 - DAY, T0 - 600, 60))
    m_ep = np.minimum(_gr(rng, 60, 0.6), 1.9)
    times = np.concatenate([t_bg, t_ep, [T0 - 60.0]])
    mags = np.concatenate([m_bg, m_ep, [2.0]])
    cat = _catalog(times, mags)
    table = load_table()
    before = status(cat, table, T0 - 2 * DAY)
    assert before.grade is Grade.NONE, before.reasons
    changes = timeline(cat, table)
    # chance fluctuations of the background may touch "weak", never more; the first change to
    # medium or above is an episode event, with its reasons
    quiet = [c for c in changes if c.time_s < t_ep[0]]
    assert all(c.grade.severity <= Grade.WEAK.severity for c in quiet), quiet
    first = next(c for c in changes if c.grade.severity >= Grade.MEDIUM.severity)
    assert first.time_s >= t_ep[0] and first.event_id in {f"e{i}" for i in range(n_bg, n_bg + 61)}
    assert first.reasons and all(" >= " in r or " < " in r for r in first.reasons)
    final = status(cat, table, T0)
    assert final.grade.severity >= Grade.MEDIUM.severity
    assert any("max_magnitude 2 >= 2" in r for r in final.reasons) or final.grade is Grade.STRONG
    assert final.indicators.frequency_deviation is not None and final.indicators.frequency_deviation > 3


def test_cli_status_and_timeline(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(T0 - 10 * DAY, T0, 50))
    mags = np.round(rng.uniform(0.5, 1.2, 50), 1)
    mags[-1] = 2.6
    cat = _catalog(t, mags)
    path = tmp_path / "cat.csv"
    path.write_text(write_catalog(cat))
    cli = [sys.executable, "-m", "quakewatch.clients.cli", "mine"]
    r = subprocess.run([*cli, "status", "mine-1", "--catalog", str(path), "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["grade"] == "strong" and doc["mine_id"] == "mine-1" and "max_magnitude 2.6 >= 2.5" in doc["reasons"]
    # a volume: every event of this catalogue lies at the origin
    for box, grade in (("-1,1,-1,1,-1,1", "strong"), ("10,20,10,20,-10,0", "none")):
        r = subprocess.run([*cli, "status", "mine-1", "--catalog", str(path), f"--volume={box}", "--json"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and json.loads(r.stdout)["grade"] == grade, r.stderr
    r = subprocess.run([*cli, "status", "mine-1", "--catalog", str(path), "--volume", "1,0,0,1,0,1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--volume" in r.stderr
    r = subprocess.run([*cli, "catalog", "timeline", str(path), "--json"], capture_output=True, text=True, timeout=120)
    changes = json.loads(r.stdout)["changes"]
    assert changes[-1]["to"] == "strong" and changes[-1]["event_id"] == "e49"
    r = subprocess.run([*cli, "catalog", "check", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "50 events" in r.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,time,x_m,y_m,z_m\n")
    r = subprocess.run([*cli, "catalog", "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "missing column(s) magnitude" in r.stderr


def test_evaluate_skips_indicators_that_cannot_be_computed() -> None:
    table = load_table()
    ind = indicators(_catalog(np.array([T0 - 5.0]), np.array([0.6])), T0, min_events=2)
    assert ind.b_value is None and evaluate(table, ind).grade is Grade.NONE
