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
