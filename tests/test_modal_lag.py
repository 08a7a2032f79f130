"""The lag span follows the slowest mode: the record's lowest spectral peak, or the
``lowest_hz`` given.  Truths: the modal models that generate the records (exact modal
oscillators, ``ext/synthetic.py``), SciPy's Welch spectrum, white noise has no peak."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from quakewatch.ext import modal_lag
from quakewatch.ext.modal import MAX_DEFAULT_ROWS, default_block_rows, identify
from quakewatch.ext.modal_lag import LOWEST_MODE_PERIODS, lag_rows_for, lowest_peak_hz
from quakewatch.ext.synthetic import AmbientVibration, ModalModel

pytestmark = pytest.mark.reference


def _tall(seed: int, fs: float, seconds: float, n_ch: int = 8) -> tuple[ModalModel, np.ndarray]:
    """A tall structure: six modes from 0.15 to 1.3 Hz at 1 % damping, 10 % noise."""
    f = np.array([0.15, 0.22, 0.41, 0.63, 0.9, 1.3])
    shapes = np.linalg.qr(np.random.default_rng(5).standard_normal((n_ch, n_ch)))[0][:, :f.size]
    model = ModalModel(f, np.full(f.size, 0.01), shapes / np.abs(shapes).max(axis=0))
    y = AmbientVibration(model, fs, seed=seed, noise_rms_mps2=0.0).next_block(int(seconds * fs)).T
    y = y + 0.1 * y.std(axis=0) * np.random.default_rng([seed, 1]).standard_normal(y.shape)
    return model, np.ascontiguousarray(y)


def test_lowest_peak_is_the_slowest_mode_and_none_in_white_noise() -> None:
    model, x = _tall(0, 20.0, 3600)
    nper = 1024  # 40 s at 20 Hz, a power of two
    got = lowest_peak_hz(x, 20.0)
    assert got is not None and abs(got - model.frequencies_hz[0]) <= 20.0 / nper
    # the same spectrum by SciPy (Welch, Hann, half overlap) peaks there too
    f, p = scipy.signal.welch(x[:, 0], fs=20.0, nperseg=nper)
    band = (f > 0.1) & (f < 0.18)
    assert abs(f[band][np.argmax(p[band])] - got) <= 20.0 / nper
    copy = x.copy()
    lowest_peak_hz(x, 20.0)
    np.testing.assert_array_equal(x, copy)  # not modified
    assert lowest_peak_hz(np.random.default_rng(1).standard_normal((180_000, 16)), 100.0) is None
    assert lowest_peak_hz(np.zeros((4000, 3)), 20.0) is None
    assert lowest_peak_hz(np.ones((10, 2)), 20.0) is None  # too short for a spectrum


def test_a_peak_the_record_holds_too_few_periods_of_is_ignored() -> None:
    _, x = _tall(0, 20.0, 600)  # 90 periods of 0.15 Hz, 132 of 0.22 Hz
    got = lowest_peak_hz(x, 20.0)
    assert got is not None and got >= modal_lag.MIN_PERIODS / 600.0 and abs(got - 0.22) < 0.03


def test_block_rows_cover_the_slowest_period() -> None:
    assert lag_rows_for(0.15, 20.0) == 40  # 0.6 of 6.7 s = 4 s of lags = 2 x 40 samples
    assert lag_rows_for(0.15, 20.0, 3) == 80  # few channels: 1.2 x 6.7 s = 8 s of lags
    assert 2 * lag_rows_for(0.15, 20.0) / 20.0 >= LOWEST_MODE_PERIODS / 0.15
    assert default_block_rows(8, 8, 20.0, 100) == 14
    assert default_block_rows(8, 8, 20.0, 100, lowest_hz=0.15) == 40
    assert default_block_rows(4, 4, 20.0, 100, lowest_hz=0.15) == 80
    assert default_block_rows(8, 8, 20.0, 100, lowest_hz=2.0) == 14  # a faster mode needs no more
    assert default_block_rows(16, 16, 100.0, 100, lowest_hz=0.05) == MAX_DEFAULT_ROWS // 16
    with pytest.raises(ValueError, match="lowest_hz"):
        lag_rows_for(0.0, 20.0)


def test_a_tall_structure_keeps_its_slowest_modes() -> None:
    # with the fixed 1.4-s lag span the 0.15 and 0.22 Hz modes were missed in 3 of 3 records
    for seed in (0, 1):
        model, x = _tall(seed, 20.0, 3600)
        res = identify(x, 20.0)
        assert res.provenance["lowest_peak_hz"] == pytest.approx(0.15, abs=0.02)
        assert res.provenance["lag_s"] >= LOWEST_MODE_PERIODS / 0.16
        err = np.array([np.min(np.abs(res.frequencies_hz - f)) / f for f in model.frequencies_hz])
        assert np.all(err < 0.01), (res.frequencies_hz, err)
    given = identify(x, 20.0, lowest_hz=0.15)
    assert given.provenance["block_rows"] == 40 and given.provenance["lowest_peak_hz"] == 0.15
    with pytest.raises(ValueError, match="lowest_hz"):
        identify(x, 20.0, lowest_hz=12.0)


def test_cli_lowest_hz(tmp_path, capsys) -> None:
    from quakewatch.clients.cli import main

    _, x = _tall(0, 20.0, 600)
    path = tmp_path / "rec.npy"
    np.save(path, x)
    for args, message in ((["--lowest-hz", "0.2", "--block-rows", "30"], "give --lowest-hz or --block-rows"),
                          (["--lowest-hz", "15"], "--lowest-hz: must be > 0 and below half the sample rate"),
                          (["--lowest-hz", "0.2", "--method", "efdd"], "--lowest-hz apply to ssi-cov only")):
        assert main(["modal", str(path), "--fs", "20", *args]) == 2
        assert message in capsys.readouterr().err
    assert main(["modal", str(path), "--fs", "20", "--lowest-hz", "0.15", "--json", "--no-uncertainty"]) == 0
    assert '"block_rows": 40' in capsys.readouterr().out


@pytest.mark.parametrize("seed", [2, 4])
def test_three_channels_of_a_building_keep_every_mode(seed: int) -> None:
    """Roof X and Y and one X below, 10 min at 100 Hz, 10 % noise: few channels carry
    little spatial information, and with lags spanning 0.6 of the slowest period (what 8
    channels and more need) the Y modes (seen by one channel) and the lowest X mode were
    lost (6 and 5 of 10 modes found on these two records); with 1.2 periods every mode
    is found and none is extra."""
    from quakewatch.ext.synthetic import structure_model

    model, _ = structure_model("building", 3, seed=seed, fs_hz=100.0)
    y = AmbientVibration(model, 100.0, seed=seed, noise_rms_mps2=0.0).next_block(60_000)
    y = y + 0.1 * y.std(axis=1, keepdims=True) * np.random.default_rng(1000 + seed).standard_normal(y.shape)
    res = identify(np.ascontiguousarray(y.T), 100.0)
    err = np.array([np.min(np.abs(res.frequencies_hz - f)) / f for f in model.frequencies_hz])
    assert np.all(err < 0.01) and res.n_modes == model.n_modes, (res.frequencies_hz, model.frequencies_hz)
