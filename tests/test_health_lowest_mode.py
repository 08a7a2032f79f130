"""A structure's registered slowest mode sizes its health windows' correlation lags.

Truth: ``ext.modal_lag.lag_rows_for`` / ``default_block_rows`` (tested against the
modal models in ``test_modal_lag.py``): a 0.15 Hz tower at 20 Hz needs 40 block rows
(4 s of lags); without the registry value the server-wide setting applies, and a
value not below half the sample rate is ignored (the lags then follow each record).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quakewatch.ext.modal import default_block_rows
from quakewatch.server.analysis.health import HealthEngine
from quakewatch.server.settings import HealthSettings
from quakewatch.server.storage.models import Channel, Structure

RATE = 20.0


def _window_rows(tmp_path: Path, registered: float, server_wide: float | None) -> tuple[int, float | None]:
    cfg = HealthSettings(lowest_mode_hz=server_wide, window_s=3600.0)
    health = HealthEngine(None, cfg)  # type: ignore[arg-type]  # no database needed to size a window
    try:
        st = Structure(structure_id="tower-7", tenant="acme", station_code="TW7", kind="building", lowest_mode_hz=registered)
        chans = [Channel(structure_id="tower-7", channel_id=f"c{i}", units="acceleration_mps2") for i in range(8)]
        health._set_structure("tower-7", (st, chans))
        ids = tuple(c.channel_id for c in chans)
        first = np.random.default_rng(0).normal(size=(8, 400)).astype(np.float32)
        w = health._new_window(health._structures["tower-7"], ids, 0, 0, RATE, first)
        assert w is not None
        return w.acc.max_lag // 2, w.lowest_hz
    finally:
        health._pool.shutdown(wait=True)


def _rows(lowest: float | None) -> int:
    return default_block_rows(8, 8, RATE, HealthSettings().max_order, n_samples=int(3600 * RATE),
                              n_blocks=HealthSettings().jackknife_blocks, lowest_hz=lowest)


def test_the_registered_value_sizes_the_lags(tmp_path: Path) -> None:
    rows, used = _window_rows(tmp_path, 0.15, None)
    assert used == 0.15 and rows == _rows(0.15) == 40  # 4 s of lags: 0.6 of the 6.7-s period
    assert _window_rows(tmp_path, 0.15, 2.0) == (40, 0.15)  # the structure's own value wins


@pytest.mark.parametrize(("server_wide", "want"), [(None, None), (0.2, 0.2)])
def test_without_one_the_server_setting_or_the_record_decides(tmp_path: Path, server_wide: float | None,
                                                              want: float | None) -> None:
    rows, used = _window_rows(tmp_path, 0.0, server_wide)
    assert used == want and rows == _rows(want)


def test_a_mode_above_the_nyquist_frequency_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows, used = _window_rows(tmp_path, 15.0, None)
    assert used is None and rows == _rows(None)
    assert "not below half the sample rate" in caplog.text


def _drifting_window(tmp_path: Path, seed: int, fraction: float, drift: float) -> tuple[int, int, float | None, float]:
    """One 10-min window of an 8-channel building (100 Hz, 10 % noise) whose sensors
    drift (random walk and trend, ``drift`` x the vibration's RMS), fed to the engine in
    1-s blocks with the structure's slowest mode registered (0.95 of the model's);
    identified as the server does.  (modes of the model found within 1 %, reported modes,
    the high-pass corner, the model's slowest mode)."""
    from quakewatch.ext.modal import identify
    from quakewatch.ext.synthetic import AmbientVibration, structure_model

    fs, m = 100.0, 8
    model, _ = structure_model("building", m, seed=seed, fs_hz=fs)
    y = AmbientVibration(model, fs, seed=seed, noise_rms_mps2=0.0).next_block(60_000)
    y = y + 0.1 * y.std(axis=1, keepdims=True) * np.random.default_rng(seed + 50).standard_normal(y.shape)
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal(y.shape), axis=1)
    y = y + drift * y.std(axis=1, keepdims=True) * (0.5 * walk / walk.std(axis=1, keepdims=True)
                                                    + np.arange(y.shape[1]) / y.shape[1] * rng.standard_normal((m, 1)))
    health = HealthEngine(None, HealthSettings(window_s=600.0, highpass_fraction=fraction))  # type: ignore[arg-type]
    try:
        st = Structure(structure_id="b", tenant="acme", station_code="B", kind="building",
                       lowest_mode_hz=0.95 * float(model.frequencies_hz[0]))
        chans = [Channel(structure_id="b", channel_id=f"c{i}", units="acceleration_mps2") for i in range(m)]
        health._set_structure("b", (st, chans))
        windows: list = []
        health._finish = lambda sid, s, ids, w, complete: windows.append(w)  # type: ignore[method-assign]
        ids = tuple(c.channel_id for c in chans)
        t0 = 1_700_000_400 * 1_000_000_000
        for k in range(600):
            health._add_block("b", health._structures["b"], ids, t0 + k * 1_000_000_000, fs, y[:, k * 100:(k + 1) * 100].astype(np.float32))
        (w,) = windows
        res = identify(w.acc, fs, lowest_hz=w.lowest_hz)
    finally:
        health._pool.shutdown(wait=True)
    found = sum(bool(res.n_modes) and np.min(np.abs(res.frequencies_hz - f)) / f < 0.01 for f in model.frequencies_hz)
    return found, res.n_modes, w.highpass_hz, float(model.frequencies_hz[0])


@pytest.mark.parametrize(("seed", "without"), [(1, 3), (2, 5)])
def test_sensor_drift_is_high_passed_when_the_slowest_mode_is_known(tmp_path: Path, seed: int, without: int) -> None:
    """Drift 10 times the vibration: without the high-pass 3 and 5 of 10 modes are found;
    with it (the default, a tenth of the registered slowest mode) 10 and 8; on the same
    record without drift every mode is still found."""
    off = _drifting_window(tmp_path, seed, 0.0, 10.0)
    on = _drifting_window(tmp_path, seed, HealthSettings().highpass_fraction, 10.0)
    clean = _drifting_window(tmp_path, seed, HealthSettings().highpass_fraction, 0.0)
    assert off[0] == without and off[2] is None
    assert on[0] >= without + 3 and on[1] == on[0] and on[2] == pytest.approx(0.1 * 0.95 * on[3], rel=1e-12)
    assert clean[0] == clean[1] == 10
