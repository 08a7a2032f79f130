"""AIC onset picks (``quakewatch.ext.onset_picker``) against known change points and ObsPy."""

from __future__ import annotations

import numpy as np
import pytest
from obspy.signal.trigger import aic_simple as obspy_aic

from quakewatch.ext.onset_picker import pick_onset


@pytest.mark.reference
def test_single_component_pick_is_obspys_aic_minimum() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        n, k = 400, int(rng.integers(60, 340))
        x = rng.normal(size=n)
        x[k:] *= rng.uniform(2.0, 6.0)
        got = pick_onset(x, 100.0)
        aic = obspy_aic(x)
        # ObsPy's curve holds the one-sample end terms; our pick excludes them, as the
        # change point of a two-segment model must leave two samples on each side
        j = int(np.argmin(aic[1 : n - 2])) + 1
        assert got.index == j + 1


@pytest.mark.reference
def test_sigma_covers_the_true_change_point_of_the_two_segment_model() -> None:
    """The Akaike weights are the model's own likelihood: on data drawn from that
    model (white noise, then white noise 3x stronger) the 95 % interval covers the
    true change point about 95 % of the time."""
    rng = np.random.default_rng(11)
    hits, n_runs, fs = 0, 600, 100.0
    for _ in range(n_runs):
        n, k = 400, int(rng.integers(100, 300))
        x = rng.normal(size=(3, n))
        x[:, k:] *= 3.0
        got = pick_onset(x, fs)
        hits += abs(got.index - k) <= 1.96 * got.sigma_s * fs + 0.5
    assert 0.88 <= hits / n_runs <= 0.99


def test_three_components_beat_one_and_inputs_untouched() -> None:
    rng = np.random.default_rng(5)
    err1, err3 = [], []
    for _ in range(200):
        n, k = 300, 150
        x = rng.normal(size=(3, n))
        x[:, k:] *= 1.8
        before = x.copy()
        err3.append(abs(pick_onset(x, 100.0).index - k))
        err1.append(abs(pick_onset(x[2], 100.0).index - k))
        assert np.array_equal(x, before)
    assert np.mean(err3) < 0.7 * np.mean(err1)


def test_snr_and_edges() -> None:
    x = np.r_[np.random.default_rng(1).normal(size=200), 10.0 * np.random.default_rng(2).normal(size=200)]
    got = pick_onset(x, 200.0, snr_window=50)
    assert 5.0 < got.snr < 20.0 and not got.at_edge and abs(got.time_s - 1.0) < 0.02


@pytest.mark.parametrize(("data", "match"), [
    (np.zeros(100), "every component is constant"),
    (np.ones(5), "at least 8 samples"),
    (np.r_[np.ones(50), np.nan], "NaN"),
    (np.ones((2, 3, 4)), "shape"),
])
def test_bad_input_names_the_field(data: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pick_onset(data, 100.0)
    with pytest.raises(ValueError, match="fs_hz"):
        pick_onset(np.arange(20.0), 0.0)
