"""Structural health end to end: samples over real gRPC -> windows identified at ingest
-> baseline -> periodic assessments -> HealthService queries, tenancy.

The truth is the modal model that generated the samples (``ext/synthetic.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from conftest import run, running_server
from helpers import NS, block, stream_all

from quakewatch.clients import AsyncClient
from quakewatch.ext.synthetic import AmbientVibration, ModalModel
from quakewatch.server.settings import HealthSettings
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import health_pb2, registry_pb2

pytestmark = pytest.mark.e2e
FS = 100.0
WINDOW_S = 60.0
BASELINE = 50


def _model() -> ModalModel:
    """A stiff 4-level building, x direction (shear-building-like shapes, 2 % damping), so that
    short test windows still hold ~120 cycles of the fundamental."""
    h = np.array([1.0, 2.0, 3.0, 4.0])
    shapes = np.stack([np.sin((2 * k - 1) * np.pi * h / 9.0) for k in (1, 2, 3)], axis=1)
    return ModalModel(np.array([2.0, 5.9, 9.5]), np.array([0.02, 0.02, 0.02]), shapes / np.abs(shapes).max(axis=0))


async def _register(c: AsyncClient, sid: str) -> list[str]:
    await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
        structure_id=sid, kind=registry_pb2.STRUCTURE_KIND_BUILDING)))
    chans = [registry_pb2.Channel(channel_id=f"f{k + 1}-X", array_id=f"f{k + 1}", orientation="X", azimuth_deg=90.0,
                                  floor=k + 1, height_m=3.0 * (k + 1), units=registry_pb2.CHANNEL_UNITS_ACCELERATION_MPS2,
                                  sensitivity=1.0, sample_rate_hz=FS) for k in range(4)]
    chans.append(registry_pb2.Channel(channel_id="air-T", array_id="roof", units=registry_pb2.CHANNEL_UNITS_TEMPERATURE_C,
                                      sensitivity=1.0, sample_rate_hz=1.0))
    r = await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=sid, channels=chans))
    return [ch.channel_id for ch in r.channels]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from quakewatch.clients.cli import main

    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("weighting", ["none", "cva"])
def test_windows_are_identified_tracked_and_assessed(tmp_path: Path, db_url: str | None, capsys: pytest.CaptureFixture[str],
                                                     weighting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model()
    n_windows = BASELINE + 14
    gen = AmbientVibration(model, FS, seed=1, noise_rms_mps2=2e-5)
    x = gen.next_block(int(n_windows * WINDOW_S * FS)).astype(np.float32)
    cfg = HealthSettings(window_s=WINDOW_S, baseline_windows=BASELINE, max_order=40, weighting=weighting)

    async def scenario() -> None:
        async with running_server(tmp_path, db_url, health=cfg) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            other, _ = create_token(srv.engine, "owner", "u")
            async with AsyncClient(srv.address, tok) as c, AsyncClient(srv.address, other) as o:
                ids = await _register(c, "tower")
                ids, temp = ids[:4], ids[4:]
                # windows are aligned to sample time: start on a window boundary, in the past
                t0 = (time.time_ns() // int(WINDOW_S * NS) - n_windows - 2) * int(WINDOW_S * NS)
                blocks = [block("tower", k + 1, t0 + 5 * k * NS, ids, x[:, k * 500:(k + 1) * 500], rate_hz=FS)
                          for k in range(x.shape[1] // 500)]
                # air temperature on its own 1 Hz stream (sent first: a covariate must reach a
                # window before its last motion sample): 10 C, rising 0.5 C per window
                t_blocks = [block("tower", k + 1, t0 + 5 * k * NS, temp,
                                  np.full((1, 5), 10.0 + 0.5 * (5 * k // WINDOW_S), np.float32), rate_hz=1.0, stream_id="temp")
                            for k in range(x.shape[1] // 500)]
                assert all(a.status == 1 for a in await stream_all(c, t_blocks))
                acks = await stream_all(c, blocks)
                assert all(a.status == 1 for a in acks)
                await asyncio.to_thread(srv.shm.drain)
                r = await c.health.ListModalResults(health_pb2.ListModalResultsRequest(structure_id="tower", page_size=100))
                assert len(r.results) == n_windows
                newest = r.results[0]
                assert newest.window_end_ns == t0 + int(n_windows * WINDOW_S * NS)
                assert list(newest.channel_ids) == ids  # the temperature channel is a covariate, not a mode shape entry
                assert json.loads(newest.provenance_json)["weighting"] == weighting
                assert newest.covariates["air-T"] == pytest.approx(10.0 + 0.5 * (n_windows - 1))
                # baseline identities on the later windows: the three modes are tracked (a
                # short 4-channel window may add an untracked spurious pole cluster)
                tracked = sorted((m for m in newest.modes if m.mode_id), key=lambda m: m.frequency_hz)
                assert [m.mode_id for m in tracked] == ["M1", "M2", "M3"]
                np.testing.assert_allclose([m.frequency_hz for m in tracked], model.frequencies_hz, rtol=0.02)
                assert len(newest.modes) <= 4
                m1 = next(m for m in newest.modes if m.mode_id == "M1")
                assert m1.mac_to_baseline > 0.95 and m1.std_frequency_hz > 0
                a = await c.health.ListAssessments(health_pb2.ListAssessmentsRequest(structure_id="tower"))
                periodic = [x for x in a.assessments if x.kind == health_pb2.ASSESSMENT_KIND_PERIODIC]
                assert 4 <= len(periodic) <= n_windows - BASELINE
                assert all(x.status == health_pb2.HEALTH_STATUS_GREEN for x in periodic), [list(x.reasons) for x in periodic]
                h = await c.health.GetStructureHealth(health_pb2.GetStructureHealthRequest(structure_id="tower"))
                assert h.status == health_pb2.HEALTH_STATUS_GREEN and h.baseline.trained
                assert h.baseline.windows_collected == BASELINE and h.latest_modal_result.result_id == newest.result_id
                # another tenant sees nothing of it
                with pytest.raises(Exception, match="PERMISSION_DENIED"):
                    await o.health.GetStructureHealth(health_pb2.GetStructureHealthRequest(structure_id="tower"))
                with pytest.raises(Exception, match="PERMISSION_DENIED"):
                    await o.health.ListModalResults(health_pb2.ListModalResultsRequest(structure_id="tower"))
                mine = await o.health.ListAssessments(health_pb2.ListAssessmentsRequest())
                assert list(mine.assessments) == []
                # the CLI over the same socket: quakewatch health ID / modal --structure-id ID
                code, out = await asyncio.to_thread(_cli, capsys, "health", "tower", "--server", srv.address, "--token", tok, "--json")
                doc = json.loads(out)
                assert code == 0 and doc["status"] == "GREEN" and doc["baseline"]["trained"]
                assert doc["latest_modal_result"]["result_id"] == newest.result_id
                code, out = await asyncio.to_thread(_cli, capsys, "modal", "--structure-id", "tower", "--server", srv.address, "--token", tok, "--json")
                doc = json.loads(out)
                assert code == 0 and sorted(i for i in doc["mode_ids"] if i) == ["M1", "M2", "M3"]
                found = sorted(f for f, i in zip(doc["frequencies_hz"], doc["mode_ids"]) if i)
                np.testing.assert_allclose(found, model.frequencies_hz, rtol=0.02)
                assert doc["channels"] == ids and len(doc["mode_shapes"][0]) == 4
                code, out = await asyncio.to_thread(_cli, capsys, "health", "tower", "--server", srv.address, "--token", tok)
                assert code == 0 and out.startswith("tower: GREEN")
                # the trend over every stored window (several pages of ListModalResults): the model's
                # frequencies do not depend on the rising temperature, so each tracked mode's
                # sensitivity is zero within its standard error; SciPy's linregress on the
                # windows as listed is the oracle of the fit
                page, token, listed = health_pb2.ListModalResultsRequest(structure_id="tower", page_size=40), "", []
                while True:
                    page.page_token = token
                    got = await c.health.ListModalResults(page)
                    listed += got.results
                    if not (token := got.next_page_token):
                        break
                csv_path = tmp_path / "trend.csv"
                monkeypatch.setattr("quakewatch.clients.health_trend.PAGE", 25)  # the CLI pages too: 3 pages
                code, out = await asyncio.to_thread(_cli, capsys, "health", "tower", "--trend", "--csv", str(csv_path),
                                                    "--server", srv.address, "--token", tok, "--json")
                doc = json.loads(out)
                assert code == 0 and doc["windows"] == n_windows and list(doc["modes"]) == ["M1", "M2", "M3"]
                assert [x["status"] for x in doc["status_changes"]] == ["GREEN"] and doc["post_event_tags"] == []
                assert len(csv_path.read_text().splitlines()) == n_windows + 1
                for k, mid in enumerate(["M1", "M2", "M3"]):
                    pts = [(x.covariates["air-T"], m.frequency_hz) for x in listed for m in x.modes if m.mode_id == mid]
                    ref = stats.linregress(*zip(*pts))
                    s = doc["modes"][mid]["sensitivity"]["air-T"]
                    assert s["windows"] == len(pts) == doc["modes"][mid]["windows"]
                    assert s["hz_per_unit"] == pytest.approx(ref.slope, rel=1e-9, abs=1e-15)
                    assert abs(s["hz_per_unit"]) < 4 * s["stderr_hz_per_unit"]
                    assert doc["modes"][mid]["mean_hz"] == pytest.approx(model.frequencies_hz[k], rel=0.02)
                code, out = await asyncio.to_thread(_cli, capsys, "health", "tower", "--trend", "--server", srv.address,
                                                    "--token", tok)
                assert code == 0 and f"tower: {n_windows} windows" in out and "air-T:" in out
                code, _ = await asyncio.to_thread(_cli, capsys, "health", "tower", "--csv", str(csv_path),
                                                  "--server", srv.address, "--token", tok)
                assert code == 2

    run(scenario())


def test_health_before_any_window_is_unknown(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            async with AsyncClient(srv.address, tok) as c:
                await _register(c, "b")
                h = await c.health.GetStructureHealth(health_pb2.GetStructureHealthRequest(structure_id="b"))
                assert h.status == health_pb2.HEALTH_STATUS_UNKNOWN
                assert "baseline training: 0 of 336" in h.reasons[0]
                with pytest.raises(Exception, match="NOT_FOUND"):
                    await c.health.GetStructureHealth(health_pb2.GetStructureHealthRequest(structure_id="nope"))

    run(scenario())


def test_baseline_and_chart_survive_a_restart(tmp_path: Path) -> None:
    """After a restart the baseline is rebuilt from the stored windows and the control
    chart continues from the stored assessments (no second warm-up)."""
    model = _model()
    n_first, n_more = BASELINE + 14, 2
    x = AmbientVibration(model, FS, seed=2, noise_rms_mps2=2e-5).next_block(int((n_first + n_more) * WINDOW_S * FS)).astype(np.float32)
    cfg = HealthSettings(window_s=WINDOW_S, baseline_windows=BASELINE, max_order=40)
    t0 = (time.time_ns() // int(WINDOW_S * NS) - n_first - n_more - 2) * int(WINDOW_S * NS)
    per_window = int(WINDOW_S * FS) // 500

    async def stream(srv: object, first_block: int, last_block: int) -> list[health_pb2.Assessment]:
        tok, _ = create_token(srv.engine, "owner", "t")  # type: ignore[attr-defined]
        async with AsyncClient(srv.address, tok) as c:  # type: ignore[attr-defined]
            if first_block == 0:
                await _register(c, "tower")
            ids = [f"f{k + 1}-X" for k in range(4)]
            blocks = [block("tower", k + 1, t0 + 5 * k * NS, ids, x[:, k * 500:(k + 1) * 500], rate_hz=FS)
                      for k in range(first_block, last_block)]
            assert all(a.status == 1 for a in await stream_all(c, blocks))
            await asyncio.to_thread(srv.shm.drain)  # type: ignore[attr-defined]
            r = await c.health.ListAssessments(health_pb2.ListAssessmentsRequest(structure_id="tower", page_size=1000))
            return list(r.assessments)

    async def scenario() -> None:
        async with running_server(tmp_path, health=cfg) as srv:
            before = await stream(srv, 0, n_first * per_window)
        async with running_server(tmp_path, health=cfg) as srv:
            after = await stream(srv, n_first * per_window, (n_first + n_more) * per_window)
        assert len(before) >= 12
        new = [a for a in after if a.assessment_id not in {b.assessment_id for b in before}]
        assert len(new) == n_more
        for a in new:
            assert np.isfinite(a.chart_statistic) and not any("warming up" in r for r in a.reasons), list(a.reasons)
            assert json.loads(a.provenance_json)["baseline_windows"] == json.loads(before[0].provenance_json)["baseline_windows"]

    run(scenario())


def test_a_gap_ends_a_window_short_windows_are_dropped(tmp_path: Path) -> None:
    """Windows follow sample time: a gap ends the current window, which is identified
    when it holds at least half its samples (and flagged incomplete), dropped otherwise."""
    model = _model()
    x = AmbientVibration(model, FS, seed=3, noise_rms_mps2=2e-5).next_block(int(340 * FS)).astype(np.float32)
    cfg = HealthSettings(window_s=WINDOW_S, baseline_windows=BASELINE, max_order=40)
    t0 = (time.time_ns() // int(WINDOW_S * NS) - 8) * int(WINDOW_S * NS)
    # seconds of data: [0, 150), gap, [180, 270), gap, [300, 320), gap, [330, 335)
    spans = [(0, 150), (180, 270), (300, 320), (330, 335)]

    async def scenario() -> None:
        async with running_server(tmp_path, health=cfg) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            async with AsyncClient(srv.address, tok) as c:
                ids = (await _register(c, "tower"))[:4]
                blocks, seq = [], 0
                for a, b in spans:
                    for s in range(a, b, 5):
                        seq += 1
                        k = s  # samples of the record at the same times (the gaps just miss some)
                        blocks.append(block("tower", seq, t0 + s * NS, ids, x[:, k * 100:(k + 5) * 100], rate_hz=FS))
                assert all(a.status == 1 for a in await stream_all(c, blocks))
                await asyncio.to_thread(srv.shm.drain)
                r = await c.health.ListModalResults(health_pb2.ListModalResultsRequest(structure_id="tower"))
        got = sorted((m.window_start_ns - t0) // NS for m in r.results)
        complete = {(m.window_start_ns - t0) // NS: json.loads(m.provenance_json)["window_complete"] for m in r.results}
        # [0,60), [60,120), [180,240) complete; [120,150) and [240,270) are half windows:
        # identified, flagged incomplete; [300,320) is a third: dropped; [330,335) still open
        assert got == [0, 60, 120, 180, 240], got
        assert complete == {0: True, 60: True, 120: False, 180: True, 240: False}

    run(scenario())


def test_a_gap_inside_a_window_is_left_out_and_the_window_goes_on(tmp_path: Path) -> None:
    """A 3 s telemetry gap inside a window ends a run of its accumulator, not the window:
    the window is identified on its 57 s, no lag spanning the gap, and says so."""
    model = _model()
    x = AmbientVibration(model, FS, seed=4, noise_rms_mps2=2e-5).next_block(int(70 * FS)).astype(np.float32)
    cfg = HealthSettings(window_s=WINDOW_S, baseline_windows=BASELINE, max_order=40)
    t0 = (time.time_ns() // int(WINDOW_S * NS) - 4) * int(WINDOW_S * NS)
    # 1 s blocks; the blocks at 25, 26 and 27 s never arrive, a new window starts at 60 s
    seconds = [s for s in range(65) if not 25 <= s < 28]

    async def scenario() -> None:
        async with running_server(tmp_path, health=cfg) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            async with AsyncClient(srv.address, tok) as c:
                ids = (await _register(c, "tower"))[:4]
                blocks = [block("tower", q + 1, t0 + s * NS, ids, x[:, s * 100:(s + 1) * 100], rate_hz=FS)
                          for q, s in enumerate(seconds)]
                assert all(a.status == 1 for a in await stream_all(c, blocks))
                await asyncio.to_thread(srv.shm.drain)
                r = await c.health.ListModalResults(health_pb2.ListModalResultsRequest(structure_id="tower"))
        assert [(m.window_start_ns - t0) // NS for m in r.results] == [0]
        prov = json.loads(r.results[0].provenance_json)
        assert prov["n_samples"] == 57 * int(FS) and prov["gaps"] == 1 and prov["missing_s"] == 3.0
        assert prov["window_complete"] is False
        f = sorted(m.frequency_hz for m in r.results[0].modes)
        assert any(abs(fi - model.frequencies_hz[0]) / model.frequencies_hz[0] < 0.02 for fi in f), (f, model.frequencies_hz)

    run(scenario())
