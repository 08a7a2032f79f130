"""Tests for quakewatch.ext.early_magnitude (issue [8], early magnitudes and ML).

Oracles
    * ObsPy's Wood-Anderson simulation (``obspy.signal.invsim.simulate_seismometer``
      with ``WOODANDERSON``, sensitivity 1) on the same record (``reference``);
    * the papers' stated values: Wu & Zhao (2006) abstract; Richter's anchor of
      the IASPEI ML formula (1 mm on a Wood-Anderson of magnification 2080 at
      100 km is ML 3.0);
    * analytic signals: a steady sinusoid of period T has tau_c = T;
    * seeded synthetic events (``tests/eew_synthetics.py``: Boore 2003 stochastic
      P waves): what is measured is the scatter of Mpd about the true Mw using
      the first 3 s of P at the first 4 stations; the mean bias (Mpd - Mw,
      ~ +0.5 here: the stochastic model's early P is stronger than the
      southern-California data of Wu & Zhao imply) is a ``regression`` figure.
"""

from __future__ import annotations

import math

import eew_synthetics as syn
import numpy as np
import pytest
from quakewatch.ext.early_magnitude import (
    EARLY_RELATIONS,
    WOOD_ANDERSON_POLES,
    local_magnitude,
    magnitude_from_pd,
    magnitude_from_tau_c,
    network_magnitude,
    p_wave_parameters,
    wood_anderson,
)


@pytest.mark.reference
def test_wu_zhao_2006_coefficients_are_the_papers() -> None:
    rel = EARLY_RELATIONS["WuZhao2006"]
    assert (rel.a, rel.b, rel.c, rel.sigma) == (-3.463, 0.729, -1.374, 0.305)
    assert rel.magnitude_type == "Mpd" and rel.window_s == 3.0 and rel.highpass_hz == 0.075
    assert EARLY_RELATIONS["WuKanamori2008"].verified == "unverified"


@pytest.mark.reference
@pytest.mark.parametrize(("m", "r"), [(3.0, 10.0), (5.0, 30.0), (6.5, 80.0)])
def test_pd_relation_inverts_exactly(m: float, r: float) -> None:
    rel = EARLY_RELATIONS["WuZhao2006"]
    pd_m = 10.0 ** (rel.a + rel.b * m + rel.c * math.log10(r)) / 100.0
    assert float(magnitude_from_pd(pd_m, r)) == pytest.approx(m, abs=1e-12)
    assert math.isnan(float(magnitude_from_pd(0.0, r)))
    tc = EARLY_RELATIONS["WuKanamori2008"]
    assert float(magnitude_from_tau_c(10.0 ** (tc.a + tc.b * m))) == pytest.approx(m, abs=1e-12)


@pytest.mark.reference
def test_iasp91_ml_anchor_richter_1mm_at_100km_is_3() -> None:
    """1 mm on a Wood-Anderson of magnification 2080 = 1e6 / 2080 nm at magnification 1."""
    amp_nm = 1e6 / 2080.0
    ml = math.log10(amp_nm) + 1.11 * math.log10(100.0) + 0.00189 * 100.0 - 2.09
    assert ml == pytest.approx(3.0, abs=0.01)
    # through local_magnitude: a record whose WA peak is exactly amp_nm on both components
    fs = 100.0
    acc = np.zeros(4000)
    acc[1000] = 1.0
    wa = wood_anderson(acc, fs, pre_event_s=5.0)
    scale = amp_nm * 1e-9 / np.max(np.abs(wa))
    got = local_magnitude(acc * scale, acc * scale, fs, 100.0, pre_event_s=5.0)
    assert got.value == pytest.approx(3.0, abs=0.01) and got.magnitude_type == "ML"
    assert got.calibration == "HuttonBoore1987-IASPEI"


@pytest.mark.reference
@pytest.mark.parametrize("seed", [1, 2])
def test_wood_anderson_matches_obspy(seed: int) -> None:
    from obspy.signal.invsim import WOODANDERSON, simulate_seismometer

    assert tuple(WOODANDERSON["poles"]) == WOOD_ANDERSON_POLES
    net = syn.network()
    ev = syn.event(net, seed, backend="flat", mw=4.5)
    acc, _ = syn.waveform(ev, 10, duration_s=60.0, noise_mps2=0.0)
    fs = syn.FS_HZ
    ours = wood_anderson(acc[0], fs, pre_event_s=5.0)
    vel = np.concatenate(([0.0], np.cumsum(0.5 * (acc[0][1:] + acc[0][:-1]) / fs)))
    paz = dict(WOODANDERSON, sensitivity=1.0)
    padded = np.concatenate([np.zeros(4000), vel, np.zeros(4000)])
    theirs = simulate_seismometer(padded, fs, paz_remove=None, paz_simulate=paz, taper=False, simulate_sensitivity=True,
                                  zero_mean=False)[4000:-4000]
    assert np.max(np.abs(ours)) == pytest.approx(np.max(np.abs(theirs)), rel=0.01)
    assert np.corrcoef(ours, theirs)[0, 1] > 0.999


@pytest.mark.reference
@pytest.mark.parametrize("period_s", [0.5, 1.0, 2.0])
def test_tau_c_of_a_steady_sinusoid_is_its_period(period_s: float) -> None:
    fs = 200.0
    t = np.arange(0.0, 80.0, 1.0 / fs)
    amp_m = 1e-3
    w = 2.0 * math.pi / period_s
    acc = -amp_m * w * w * np.sin(w * t)
    p_index = int(60.0 * fs)
    got = p_wave_parameters(acc, fs, p_index, window_s=3.0 * period_s)
    assert got.tau_c_s == pytest.approx(period_s, rel=0.02)
    assert got.pd_m == pytest.approx(amp_m, rel=0.05)  # |H_hp|^2 ~ 1 far above 0.075 Hz


def test_short_window_is_used_and_stated() -> None:
    fs = 100.0
    rng = np.random.default_rng(0)
    acc = np.concatenate([np.zeros(500), rng.normal(0.0, 0.01, 150)])
    got = p_wave_parameters(acc, fs, 500)
    assert not got.full_window and got.window_s == pytest.approx(1.5) and got.n_samples == 150
    with pytest.raises(ValueError, match="min_window_s"):
        p_wave_parameters(acc[:540], fs, 500)


def test_network_magnitude_is_robust_and_typed() -> None:
    got = network_magnitude([5.0, 5.2, 4.8, 5.1, 9.0, math.nan], "WuZhao2006")
    assert got.n_stations == 6 and got.n_used == 4 and got.value == pytest.approx(5.025)
    assert got.std == pytest.approx(np.std([5.0, 5.2, 4.8, 5.1], ddof=1))
    assert got.magnitude_type == "Mpd" and got.relation == "WuZhao2006"
    one = network_magnitude([4.0], "WuZhao2006")
    assert one.std == pytest.approx(0.305 / 0.729)
    assert math.isnan(network_magnitude([math.nan], "WuKanamori2008").value)
    with pytest.raises(ValueError, match="relation must be one of"):
        network_magnitude([4.0], "Richter")


def test_inputs_not_mutated_and_bad_input_named() -> None:
    acc = np.random.default_rng(1).normal(0.0, 0.01, 1000)
    acc[:300] = 0.001
    before = acc.copy()
    p_wave_parameters(acc, 100.0, 300)
    wood_anderson(acc, 100.0)
    assert np.array_equal(acc, before)
    bad = acc.copy()
    bad[10] = math.nan
    with pytest.raises(ValueError, match="acc_z_mps2 must be finite"):
        p_wave_parameters(bad, 100.0, 300)
    with pytest.raises(ValueError, match="p_index"):
        p_wave_parameters(acc, 100.0, 1000)
    with pytest.raises(ValueError, match="hypocentral_km"):
        local_magnitude(acc, acc, 100.0, 5.0)


def test_synthetic_mpd_scatter_below_0_4() -> None:
    """Network Mpd from the first 3 s of P at the first 4 stations of 10 seeded events, M 3-6.5."""
    net = syn.network()
    err = []
    for seed in range(10):
        ev = syn.event(net, seed, backend="flat")
        mags = []
        for i in np.argsort(ev.tp)[:4]:
            acc, t_first = syn.waveform(ev, int(i), duration_s=20.0)
            ip = int(round((ev.tp[i] - t_first) * syn.FS_HZ))
            pw = p_wave_parameters(acc[2], syn.FS_HZ, ip)
            mags.append(float(magnitude_from_pd(pw.pd_m, math.hypot(ev.dist_km[i], ev.depth_km))))
        err.append(network_magnitude(mags, "WuZhao2006").value - ev.mw)
    assert np.std(err, ddof=1) <= 0.4


@pytest.mark.regression
def test_synthetic_mpd_bias_is_as_measured() -> None:
    """Mean Mpd - Mw on the same 10 events: +0.5 +- 0.15 (ext.stochastic P vs Wu & Zhao 2006)."""
    net = syn.network()
    err = []
    for seed in range(10):
        ev = syn.event(net, seed, backend="flat")
        i = int(np.argmin(ev.tp))
        acc, t_first = syn.waveform(ev, i, duration_s=20.0)
        pw = p_wave_parameters(acc[2], syn.FS_HZ, int(round((ev.tp[i] - t_first) * syn.FS_HZ)))
        err.append(float(magnitude_from_pd(pw.pd_m, math.hypot(ev.dist_km[i], ev.depth_km))) - ev.mw)
    assert 0.2 < np.mean(err) < 0.9


def test_a_regional_pd_relation_replaces_wu_zhao() -> None:
    """A regional calibration is used as given: shifting ``a`` by ``b * dM`` shifts every
    station magnitude by exactly ``-dM`` (the relation is linear in M)."""
    from quakewatch.ext.early_magnitude import EARLY_RELATIONS, magnitude_from_pd, network_magnitude, pd_relation

    wz = EARLY_RELATIONS["WuZhao2006"]
    regional = pd_relation("regional", wz.a + wz.b * 0.5, wz.b, wz.c, wz.sigma, source="test calibration")
    pd, r = np.array([2e-4, 5e-4, 1e-3]), np.array([15.0, 22.0, 40.0])
    assert magnitude_from_pd(pd, r, regional) == pytest.approx(magnitude_from_pd(pd, r, "WuZhao2006") - 0.5, abs=1e-12)
    net = network_magnitude(magnitude_from_pd(pd, r, regional), regional)
    assert net.relation == "regional" and net.magnitude_type == "Mpd"
    for bad in ({"b": 0.0}, {"sigma": -1.0}, {"source": " "}, {"a": float("nan")}):
        args = {"name": "x", "a": 1.0, "b": 0.7, "c": -1.3, "sigma": 0.3, "source": "s", **bad}
        with pytest.raises(ValueError):
            pd_relation(**args)


def test_eew_settings_name_a_bad_magnitude_relation() -> None:
    from pydantic import ValidationError

    from quakewatch.server.settings import EewSettings

    assert EewSettings().magnitude_relation().name == "WuZhao2006"
    ok = EewSettings(pd_coefficients=(-3.2, 0.7, -1.4, 0.3), pd_source="Shanxi strong-motion records 2010-2024")
    assert ok.magnitude_relation().name == "regional" and ok.magnitude_relation().a == -3.2
    with pytest.raises(ValidationError, match="pd_coefficients / pd_source"):
        EewSettings(pd_coefficients=(-3.2, 0.7, -1.4, 0.3))
    with pytest.raises(ValidationError, match="pd_relation"):
        EewSettings(pd_relation="WuKanamori2008")
