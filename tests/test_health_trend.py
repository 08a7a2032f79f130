"""``quakewatch health ID --trend``: the trend document of stored windows, with SciPy's
``linregress`` as the oracle of the sensitivities and a known temperature law as the truth."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from quakewatch.clients.health_trend import linear_fit, status_history, trend, write_csv
from quakewatch.v1 import health_pb2

NS = 1_000_000_000
F0 = {"M1": 2.0, "M2": 5.9, "M10": 9.5}
ALPHA = -0.002  # relative frequency change per degree (stiffer when cold)


def _windows(n: int, seed: int = 0) -> tuple[list[health_pb2.ModalResult], np.ndarray]:
    """Windows whose modes follow f = f0 (1 + ALPHA (T - 10)) plus 0.05 % scatter; M10 is
    missed in every 7th window, the temperature is missing in every 11th, one untracked
    (empty id) mode in each."""
    rng = np.random.default_rng(seed)
    temps = 10.0 + 15.0 * np.sin(np.linspace(0, 3 * np.pi, n)) + rng.normal(0, 1, n)
    out = []
    for k in range(n):
        r = health_pb2.ModalResult(result_id=f"r{k:04d}", structure_id="tower", window_start_ns=k * 1800 * NS,
                                   window_end_ns=(k + 1) * 1800 * NS)
        if k % 11 != 5:
            r.covariates["air-T"] = float(temps[k])
        for mid, f0 in F0.items():
            if mid == "M10" and k % 7 == 3:
                continue
            f = f0 * (1 + ALPHA * (temps[k] - 10.0)) * (1 + 5e-4 * rng.standard_normal())
            r.modes.append(health_pb2.Mode(mode_id=mid, frequency_hz=f))
        r.modes.append(health_pb2.Mode(mode_id="", frequency_hz=31.0))
        out.append(r)
    rng.shuffle(out)  # the server pages newest first; the trend sorts by time
    return out, temps


def test_sensitivities_match_linregress_and_recover_the_temperature_law():
    results, temps = _windows(200)
    doc = trend(results)
    assert doc["windows"] == 200 and list(doc["modes"]) == ["M1", "M2", "M10"]  # natural order, untracked left out
    assert doc["covariates"]["air-T"] == {"min": pytest.approx(min(t for k, t in enumerate(temps) if k % 11 != 5)),
                                          "max": pytest.approx(max(t for k, t in enumerate(temps) if k % 11 != 5))}
    assert [s["end_time"] for s in doc["series"]] == sorted(s["end_time"] for s in doc["series"])
    assert doc["modes"]["M10"]["windows"] == 200 - len(range(3, 200, 7))
    for mid, f0 in F0.items():
        ks = [k for k in range(200) if k % 11 != 5 and not (mid == "M10" and k % 7 == 3)]
        f = {r.result_id: next(m.frequency_hz for m in r.modes if m.mode_id == mid) for r in results
             if any(m.mode_id == mid for m in r.modes)}
        y = np.array([f[f"r{k:04d}"] for k in ks])
        ref = stats.linregress(temps[ks], y)
        s = doc["modes"][mid]["sensitivity"]["air-T"]
        assert s["windows"] == len(ks)
        assert s["hz_per_unit"] == pytest.approx(ref.slope, rel=1e-12)
        assert s["intercept_hz"] == pytest.approx(ref.intercept, rel=1e-12)
        assert s["stderr_hz_per_unit"] == pytest.approx(ref.stderr, rel=1e-9)
        assert s["r2"] == pytest.approx(ref.rvalue**2, rel=1e-9)
        # the truth: f0 * ALPHA Hz per degree, -0.2 % per degree
        assert abs(s["hz_per_unit"] - f0 * ALPHA) < 4 * s["stderr_hz_per_unit"]
        assert s["percent_per_unit"] == pytest.approx(100 * ALPHA, rel=0.05)
        assert s["r2"] > 0.95


def test_degenerate_inputs():
    assert linear_fit(np.array([1.0, 2.0]), np.array([1.0, 2.0])) is None  # too few points
    assert linear_fit(np.full(5, 3.0), np.arange(5.0)) is None  # constant covariate
    empty = trend([])
    assert empty["windows"] == 0 and empty["modes"] == {} and empty["start_time"] is None
    results, _ = _windows(30)
    for r in results:
        r.covariates["air-T"] = 12.0
    doc = trend(results)
    assert doc["modes"]["M1"]["sensitivity"]["air-T"] is None
    # NaN covariates and frequencies are left out, not fitted; an all-NaN covariate has no range
    results, _ = _windows(30)
    for k, r in enumerate(results):
        r.covariates["wind"] = float("nan")
        if k % 3 == 0:
            r.covariates["air-T"] = float("nan")
            r.modes[0].frequency_hz = float("nan")
    doc = trend(results)
    assert "wind" not in doc["covariates"] and doc["modes"]["M1"]["sensitivity"]["wind"] is None
    fit = doc["modes"]["M1"]["sensitivity"]["air-T"]
    assert fit is not None and np.isfinite(fit["hz_per_unit"]) and np.isfinite(doc["modes"]["M1"]["mean_hz"])


def test_csv_has_one_row_per_window(tmp_path: Path):
    results, temps = _windows(25)
    doc = trend(results)
    path = tmp_path / "trend.csv"
    write_csv(doc, path)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 25 and list(rows[0]) == ["end_time", "air-T", "M1_hz", "M2_hz", "M10_hz"]
    assert rows[5]["air-T"] == "" and rows[3]["M10_hz"] == ""
    assert float(rows[0]["air-T"]) == pytest.approx(temps[0])


def test_plot_is_written(tmp_path: Path):
    pytest.importorskip("matplotlib")
    from quakewatch.clients.health_trend import plot_trend

    results, _ = _windows(40)
    path = tmp_path / "trend.png"
    plot_trend("tower", trend(results, _assessments()), path)  # a YELLOW and a RED period shaded
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _assessments() -> list[health_pb2.Assessment]:
    """Periodic GREEN, GREEN, YELLOW, YELLOW, GREEN, RED and one post-event tag, shuffled."""
    out = []
    for k, status in enumerate(["GREEN", "GREEN", "YELLOW", "YELLOW", "GREEN", "RED"]):
        out.append(health_pb2.Assessment(
            assessment_id=f"a{k}", time_ns=(k + 1) * 3600 * NS, kind=health_pb2.ASSESSMENT_KIND_PERIODIC,
            status=health_pb2.HealthStatus.Value(f"HEALTH_STATUS_{status}"), alarm=status != "GREEN",
            reasons=[] if status == "GREEN" else [f"novelty chart {k}"]))
    out.append(health_pb2.Assessment(assessment_id="p", time_ns=int(4.5 * 3600 * NS), kind=health_pb2.ASSESSMENT_KIND_POST_EVENT,
                                     status=health_pb2.HEALTH_STATUS_YELLOW, event_id="ev-123", max_drift_ratio=0.004))
    return [out[i] for i in (3, 6, 0, 5, 2, 4, 1)]


def test_status_changes_and_post_event_tags():
    h = status_history(_assessments())
    assert [(c["time"][11:16], c["status"], c["alarm"]) for c in h["status_changes"]] == [
        ("01:00", "GREEN", False), ("03:00", "YELLOW", True), ("05:00", "GREEN", False), ("06:00", "RED", True)]
    assert h["status_changes"][1]["reasons"] == ["novelty chart 2"]
    assert [(t["time"][11:16], t["status"], t["event_id"], t["max_drift_ratio"]) for t in h["post_event_tags"]] == [
        ("04:30", "YELLOW", "ev-123", 0.004)]
    doc = trend(_windows(10)[0], _assessments())
    assert doc["status_changes"] == h["status_changes"] and doc["post_event_tags"] == h["post_event_tags"]
    assert trend([])["status_changes"] == [] and trend([])["post_event_tags"] == []
