"""Tests of quakewatch.ext.stochastic (synthetic earthquake records) and of the quake
injection of ``quakewatch simulate``.

Independent truths (``reference``): the published source/path formulas written out again
here [Brune1970, HK1979, AS2000] (ensemble Fourier spectrum), corner frequencies worked
by hand, the BSSA14 NGA-West2 GMPE medians (Boore, Stewart, Seyhan & Atkinson 2014,
Earthquake Spectra 30(3); coefficients typed from their PGA and PGV rows), travel
times R/vp and R/vs, the steady-state SDOF transmissibility [Chopra] and scipy's
``lsim`` as a peer integrator. Everything else is contract.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import run, running_server
from scipy.integrate import cumulative_trapezoid
from scipy.signal import lsim

from quakewatch.ext.stochastic import (
    QuakeMotion,
    channel_directions,
    corner_frequency_hz,
    moment_nm,
    stochastic_ground_motion,
    structure_response,
)
from quakewatch.ext.synthetic import ChannelLayout, ModalModel, structure_model

G_MPS2 = 9.80665

# --------------------------------------------------------------------------- source


@pytest.mark.reference
@pytest.mark.parametrize(("magnitude", "fc_hz"), [
    # By hand: M0 = 10^(1.5 M + 16.05) dyne-cm; M5: (100 / 3.548e23)^(1/3) = 6.557e-8,
    # fc = 4.906e6 * 3.5 * 6.557e-8 = 1.126 Hz; each magnitude unit divides fc by 10^0.5.
    pytest.param(5.0, 1.126, id="M5"),
    pytest.param(6.0, 0.3560, id="M6"),
    pytest.param(7.0, 0.1126, id="M7"),
])
def test_brune_corner_frequency_matches_hand_values(magnitude: float, fc_hz: float) -> None:
    assert corner_frequency_hz(magnitude, 100.0, 3.5) == pytest.approx(fc_hz, rel=1e-3)


@pytest.mark.reference
def test_moment_follows_hanks_kanamori() -> None:
    assert moment_nm(6.0) == pytest.approx(1.122e18, rel=1e-3)  # 10^18.05 N m
    assert moment_nm(7.0) / moment_nm(6.0) == pytest.approx(10**1.5)


def _published_fas(f: np.ndarray, magnitude: float, r_hyp_km: float) -> np.ndarray:
    """One horizontal S component, m/s, written out from the papers (site = "none").

    [Boore2003] A = C M0 S(f) (2 pi f)^2 Z(R) exp(-pi f R / (Q beta)) exp(-pi kappa f);
    C = 0.55 * 0.7071 * 2 / (4 pi rho beta^3 R0) in SI (rho 2720, beta 3500 m/s, R0 1000 m);
    fc from Brune with stress 100 bar; Z = 1/R to 40 km, (1/40)(40/R)^0.5 beyond [AS2000];
    Q = 180 f^0.45; kappa0 = 0.035 s; R = sqrt(R_hyp^2 + h^2), log10 h = -0.405 + 0.235 M.
    """
    m0_nm = 10 ** (1.5 * magnitude + 9.05)
    fc = 4.906e6 * 3.5 * (100.0 / (m0_nm * 1e7)) ** (1 / 3)
    r = math.hypot(r_hyp_km, 10 ** (-0.405 + 0.235 * magnitude))
    z = 1 / r if r <= 40 else (1 / 40) * (40 / r) ** 0.5
    c = 0.55 * (1 / math.sqrt(2)) * 2.0 / (4 * math.pi * 2720.0 * 3500.0**3 * 1000.0)
    q = 180.0 * f**0.45
    return (c * m0_nm / (1 + (f / fc) ** 2) * (2 * np.pi * f) ** 2 * z
            * np.exp(-np.pi * f * r * 1000.0 / (q * 3500.0)) * np.exp(-np.pi * 0.035 * f))


@pytest.mark.reference
@pytest.mark.parametrize(("magnitude", "distance_km"), [pytest.param(5.0, 20.0, id="M5-20km"),
                                                         pytest.param(6.5, 60.0, id="M6.5-60km")])
def test_ensemble_fourier_spectrum_matches_the_model(magnitude: float, distance_km: float) -> None:
    fs_hz, n_real = 100.0, 150
    spectra = []
    for seed in range(n_real):
        q = stochastic_ground_motion(magnitude, distance_km, fs_hz, seed=seed, site="none", include_p=False)
        spectra.append(np.abs(np.fft.rfft(q.acc_mps2[:2], axis=1)) / fs_hz)  # continuous FT, m/s
    n = q.acc_mps2.shape[1]
    f = np.fft.rfftfreq(n, 1 / fs_hz)
    power = np.concatenate(spectra).astype(np.float64) ** 2  # 2 n_real spectra
    # third-octave bands from 0.3 Hz to 25 Hz: RMS over realisations and band
    edges = 0.3 * 2 ** (np.arange(0, 20) / 3)
    edges = edges[edges <= 25.0]
    target = _published_fas(np.where(f > 0, f, 1.0), magnitude, q.hypocentral_km)
    ratios = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        band = (f >= lo) & (f < hi)
        ratios.append(np.sqrt(power[:, band].mean() / (target[band] ** 2).mean()))
    # Tolerance: |X|^2 of Gaussian noise is exponential (relative sd 1); >= 300 spectra
    # give <= 6 % on the power in a single bin, < 3 % on its root; the window's
    # truncated tail and the zero-phase leakage lose a few more per cent at the band edges.
    np.testing.assert_allclose(ratios, 1.0, atol=0.12)


def _bssa14_rock(magnitude: float, rjb_km: float, c: tuple[float, ...]) -> float:
    """BSSA14 median for Vs30 = 760 m/s (site term 0), unspecified mechanism, no basin."""
    e0, e4, e5, e6, mh, c1, c2, c3, h = c
    dm = magnitude - mh
    fm = e4 * dm + e5 * dm**2 if magnitude <= mh else e6 * dm
    r = math.hypot(rjb_km, h)
    return math.exp(e0 + fm + (c1 + c2 * (magnitude - 4.5)) * math.log(r) + c3 * (r - 1.0))


# BSSA14 Table (PGA and PGV rows): e0, e4, e5, e6, Mh, c1, c2, c3, h
BSSA14_PGA_G = (0.4473, 1.431, 0.05053, -0.1662, 5.5, -1.134, 0.1917, -0.008088, 4.5)
BSSA14_PGV_CMPS = (5.037, 1.073, -0.1536, 0.2252, 6.2, -1.243, 0.1489, -0.00344, 5.3)


@pytest.mark.reference
@pytest.mark.parametrize(("magnitude", "distance_km"), [pytest.param(5.0, 20.0, id="M5-20km"),
                                                         pytest.param(6.0, 30.0, id="M6-30km"),
                                                         pytest.param(7.0, 50.0, id="M7-50km")])
def test_pga_and_pgv_medians_are_within_a_factor_two_of_bssa14(magnitude: float, distance_km: float) -> None:
    pga, pgv = [], []
    for seed in range(25):
        h = stochastic_ground_motion(magnitude, distance_km, 200.0, seed=seed).acc_mps2[:2]
        v = cumulative_trapezoid(h, dx=1 / 200.0, axis=1)
        pga.append(math.sqrt(np.prod(np.abs(h).max(axis=1))))  # geometric mean ~ RotD50
        pgv.append(math.sqrt(np.prod(np.abs(v).max(axis=1))))
    pga_ratio = np.median(pga) / G_MPS2 / _bssa14_rock(magnitude, distance_km, BSSA14_PGA_G)
    pgv_ratio = np.median(pgv) * 100 / _bssa14_rock(magnitude, distance_km, BSSA14_PGV_CMPS)
    # A GMPE's sigma is ~0.6-0.7 in ln units; a factor of 2 (0.69) is one sigma. Known
    # bias: a single-corner point source overpredicts PGV of large events (ratio ~1.9 at
    # M7 / 50 km, ~3 at M8 / 100 km, untested), the reason for two-corner sources [AS2000].
    assert 0.5 < pga_ratio < 2.0, pga_ratio
    assert 0.5 < pgv_ratio < 2.0, pgv_ratio


# --------------------------------------------------------------------------- phases


@pytest.mark.reference
def test_p_then_s_at_the_travel_times_and_silence_before_p() -> None:
    fs = 100.0
    q = stochastic_ground_motion(5.5, 30.0, fs, depth_km=10.0, seed=3, pre_event_s=5.0)
    r_km = math.sqrt(30.0**2 + 10.0**2)
    assert q.hypocentral_km == pytest.approx(r_km)
    assert q.p_arrival_s == pytest.approx(5.0)
    assert q.s_arrival_s - q.p_arrival_s == pytest.approx(r_km / 3.5 - r_km / 6.0, abs=1 / fs)
    acc = q.acc_mps2
    i_p, i_s = round(q.p_arrival_s * fs), round(q.s_arrival_s * fs)
    assert not acc[:, :i_p].any()  # exactly zero before P
    assert np.abs(acc[2, i_p:i_p + 50]).max() > 0
    # P is mostly vertical and weaker than S; S is horizontal-dominated
    p_rms = np.sqrt((acc[:, i_p:i_s] ** 2).mean(axis=1))
    s_rms = np.sqrt((acc[:, i_s:i_s + (i_s - i_p)] ** 2).mean(axis=1))
    assert p_rms[2] > 2 * max(p_rms[0], p_rms[1])
    assert min(s_rms[0], s_rms[1]) > s_rms[2]
    assert np.abs(acc[:2, i_s:]).max() > 2 * np.abs(acc[2, i_p:i_s]).max()


def test_s_onset_follows_a_given_s_minus_p_time() -> None:
    """A layered model's S - P time replaces the constant-velocity one; nothing else moves."""
    fs = 100.0
    base = stochastic_ground_motion(5.0, 30.0, fs, depth_km=10.0, seed=3, pre_event_s=5.0)
    q = stochastic_ground_motion(5.0, 30.0, fs, depth_km=10.0, seed=3, pre_event_s=5.0, s_minus_p_s=2.5)
    assert q.s_arrival_s - q.p_arrival_s == pytest.approx(2.5, abs=0.5 / fs)
    i_p, i_s = round(q.p_arrival_s * fs), round(q.s_arrival_s * fs)
    # the S energy moved with it: horizontals in the second before the given S onset are P only
    assert np.abs(q.acc_mps2[:2, i_s - 100:i_s - 20]).max() < 0.5 * np.abs(q.acc_mps2[:2, i_s:i_s + 100]).max()
    assert q.p_arrival_s == base.p_arrival_s and np.abs(q.acc_mps2[2, i_p:i_p + 50]).max() > 0
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="s_minus_p_s must be finite and > 0 s"):
            stochastic_ground_motion(5.0, 30.0, fs, s_minus_p_s=bad)


@pytest.mark.reference
def test_sta_lta_sees_the_p_onset() -> None:
    """ObsPy's recursive STA/LTA on Z (with weak noise added) triggers within 0.3 s of P."""
    from obspy.signal.trigger import recursive_sta_lta, trigger_onset

    fs = 100.0
    q = stochastic_ground_motion(4.5, 40.0, fs, seed=1, pre_event_s=20.0)
    z = q.acc_mps2[2] + np.random.default_rng(0).normal(0, 1e-5, q.acc_mps2.shape[1])
    cf = recursive_sta_lta(z, int(0.5 * fs), int(10 * fs))
    on = trigger_onset(cf, 4.0, 1.5)
    assert len(on) >= 1
    assert 0.0 <= on[0][0] / fs - q.p_arrival_s < 0.3


def test_determinism_and_provenance() -> None:
    a = stochastic_ground_motion(6.0, 25.0, 100.0, seed=4)
    b = stochastic_ground_motion(6.0, 25.0, 100.0, seed=4)
    c = stochastic_ground_motion(6.0, 25.0, 100.0, seed=5)
    assert isinstance(a, QuakeMotion)
    assert a.acc_mps2.dtype == np.float64 and a.acc_mps2.shape[0] == 3
    np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
    assert not np.allclose(a.acc_mps2, c.acc_mps2)
    with pytest.raises(ValueError, match="read-only"):
        a.acc_mps2[0, 0] = 1.0
    prov = a.provenance()
    assert prov["seed"] == 4 and prov["magnitude"] == 6.0 and prov["stress_bar"] == 100.0
    assert prov["kappa0_s"] == 0.035 and "Boore2003" in prov["algorithm"]
    short = stochastic_ground_motion(6.0, 25.0, 100.0, seed=4, duration_s=8.0)
    assert short.acc_mps2.shape == (3, 800)
    np.testing.assert_array_equal(short.acc_mps2[:, :600], a.acc_mps2[:, :600])


@pytest.mark.parametrize(("magnitude", "distance_km"), [(2.0, 1.0), (3.0, 0.0), (8.0, 300.0), (8.5, 1.0)])
def test_extremes_of_the_range_are_finite_and_plausible(magnitude: float, distance_km: float) -> None:
    q = stochastic_ground_motion(magnitude, distance_km, 100.0, seed=0)
    assert np.all(np.isfinite(q.acc_mps2))
    assert 1e-6 < np.abs(q.acc_mps2).max() < 3 * G_MPS2
    assert q.s_arrival_s > q.p_arrival_s


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"magnitude": 9.5}, r"magnitude must be within \[2, 8.5\], got 9.5", id="magnitude"),
    pytest.param({"distance_km": -1.0}, r"distance_km must be within \[0, 500\] km", id="distance"),
    pytest.param({"depth_km": 300.0}, r"depth_km must be within \[0.5, 100\] km", id="depth"),
    pytest.param({"fs_hz": 5.0}, r"fs_hz must be finite and >= 10 Hz", id="fs"),
    pytest.param({"seed": -1}, r"seed must be >= 0", id="seed"),
    pytest.param({"duration_s": 2.0}, r"duration_s must be finite and > pre_event_s = 5 s", id="duration"),
    pytest.param({"stress_bar": 0.0}, r"stress_bar must be within \[1, 1000\] bar", id="stress"),
    pytest.param({"site": "soil"}, r"site must be 'generic-rock' or 'none'", id="site"),
])
def test_invalid_input_is_rejected(kwargs: dict, message: str) -> None:
    args = {"magnitude": 5.0, "distance_km": 10.0, "fs_hz": 100.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        stochastic_ground_motion(args.pop("magnitude"), args.pop("distance_km"), args.pop("fs_hz"), **args)


# --------------------------------------------------------------------------- structures


def _one_channel(az: float, dip: float, z_m: float = 0.0) -> list[ChannelLayout]:
    return [ChannelLayout("ch00", "N", az, dip, 0, 0.0, 0.0, 0.0, z_m, "test")]


def _sdof(f_hz: float, zeta: float) -> ModalModel:
    return ModalModel(np.array([f_hz]), np.array([zeta]), np.array([[1.0]]))


@pytest.mark.reference
@pytest.mark.parametrize("r", [0.5, 1.0, 2.0])
def test_steady_state_transmissibility(r: float) -> None:
    """|a_abs / a_g| = sqrt(1 + (2 zeta r)^2) / sqrt((1 - r^2)^2 + (2 zeta r)^2) [Chopra]."""
    f_n, zeta, fs = 2.0, 0.05, 200.0
    t = np.arange(int(80 * fs)) / fs  # transient decays as exp(-zeta w t): e^-50 at 80 s
    ground = np.zeros((3, t.size))
    ground[1] = np.sin(2 * np.pi * r * f_n * t)
    out = structure_response(_sdof(f_n, zeta), _one_channel(0.0, 0.0), ground, fs, participation=[1.0])[0]
    tail = out[-int(20 * fs):]
    expected = math.sqrt(1 + (2 * zeta * r) ** 2) / math.sqrt((1 - r * r) ** 2 + (2 * zeta * r) ** 2)
    # 20 s holds whole cycles; sampling at >= 50 points per cycle misses the crest by < 0.2 %
    assert tail.max() == pytest.approx(expected, rel=3e-3)


@pytest.mark.reference
def test_modal_response_matches_scipy_lsim() -> None:
    """lsim integrates piecewise-linear input exactly, as our first-order hold should."""
    f_n, zeta, fs, gamma = 1.3, 0.03, 100.0, 1.27
    ground = stochastic_ground_motion(5.5, 15.0, fs, seed=2).acc_mps2
    layout = _one_channel(30.0, -20.0)
    out = structure_response(_sdof(f_n, zeta), layout, ground, fs, participation=[gamma])[0]
    w = 2 * np.pi * f_n
    az, dip = math.radians(30.0), math.radians(-20.0)
    u = (math.cos(dip) * math.sin(az) * ground[0] + math.cos(dip) * math.cos(az) * ground[1]
         - math.sin(dip) * ground[2])
    t = np.arange(u.size) / fs
    system = (np.array([[0.0, 1.0], [-w * w, -2 * zeta * w]]), np.array([[0.0], [-gamma]]),
              np.array([[-w * w, -2 * zeta * w]]), np.array([[-gamma]]))
    _, rel_acc, _ = lsim(system, u, t)
    np.testing.assert_allclose(out, u + rel_acc, atol=1e-9 * np.abs(u).max())


def test_underground_channels_record_the_projected_ground_motion() -> None:
    model, layout = structure_model("mine", 6, seed=2, fs_hz=100.0)
    ground = stochastic_ground_motion(4.0, 5.0, 100.0, seed=1).acc_mps2
    out = structure_response(model, layout, ground, 100.0)
    assert [c.orientation for c in layout] == list("ENZENZ")
    for ch in range(6):  # E = east, N = north, Z = up
        np.testing.assert_allclose(out[ch], ground[ch % 3], atol=1e-12 * np.abs(ground).max())
    np.testing.assert_allclose(channel_directions(layout)[:3], np.eye(3), atol=1e-15)


@pytest.mark.parametrize("kind", ["building", "bridge", "dam", "other", "tunnel"])
def test_structures_amplify_and_stay_finite(kind: str) -> None:
    model, layout = structure_model(kind, 6, seed=1, fs_hz=100.0)
    ground = stochastic_ground_motion(6.0, 20.0, 100.0, seed=1).acc_mps2
    ground_copy = ground.copy()
    out = structure_response(model, layout, ground, 100.0)
    np.testing.assert_array_equal(ground, ground_copy)
    assert out.shape == (6, ground.shape[1]) and out.dtype == np.float64 and np.all(np.isfinite(out))
    proj = channel_directions(layout) @ ground
    if kind == "tunnel":
        np.testing.assert_array_equal(out, proj)
    else:
        assert np.abs(out).max() > np.abs(proj).max()  # resonant amplification somewhere


def test_structure_response_validates_shapes() -> None:
    with pytest.raises(ValueError, match=r"ground_acc_mps2 must have shape \(3, n_samples\)"):
        structure_response(_sdof(1.0, 0.05), _one_channel(0, 0), np.zeros((2, 10)), 100.0)
    with pytest.raises(ValueError, match="layout has 2 channels but the model has 1"):
        structure_response(_sdof(1.0, 0.05), _one_channel(0, 0) * 2, np.zeros((3, 10)), 100.0)
    with pytest.raises(ValueError, match=r"participation must have shape \(1,\)"):
        structure_response(_sdof(1.0, 0.05), _one_channel(0, 0), np.zeros((3, 10)), 100.0, participation=[1, 2])


# --------------------------------------------------------------------------- simulate


def test_quake_injection_is_block_split_invariant() -> None:
    from quakewatch.clients.simulate import QuakeInjection

    rng = np.random.default_rng(0)
    resp = rng.normal(size=(2, 50))
    inj = QuakeInjection(resp, 30, clip_mps2=10.0)
    whole = inj.add(np.zeros((2, 120)), 0)
    parts = np.concatenate([inj.add(np.zeros((2, n)), s) for s, n in [(0, 7), (7, 40), (47, 1), (48, 72)]], axis=1)
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(whole[:, 30:80], resp)
    assert not whole[:, :30].any() and not whole[:, 80:].any()
    assert QuakeInjection(resp * 100, 0, clip_mps2=1.0).add(np.zeros((2, 50)), 0).max() <= 1.0


@pytest.mark.e2e
def test_simulate_with_a_quake_through_a_real_server(tmp_path: Path) -> None:
    from quakewatch.clients import AsyncClient
    from quakewatch.clients.simulate import SimulateOptions, simulate
    from quakewatch.server.storage.tokens import create_token

    o = SimulateOptions("bld-q", kind="building", channels=4, rate_hz=100.0, duration_s=30.0, register=True,
                        seed=2, quake=(6.0, 20.0))

    async def go() -> dict:
        async with running_server(tmp_path) as srv:
            tok, _ = create_token(srv.engine, "owner", "t")
            async with AsyncClient(srv.address, tok) as c:
                return await simulate(c, o)

    s = run(go())
    assert s["blocks_acked"] == 30 and s["blocks_rejected"] == 0
    assert s["samples_acked"] == 30 * 4 * 100
    q = s["quake"]
    assert {"magnitude", "distance_km", "p_arrival_time_ns", "s_arrival_time_ns", "pga_mps2"} <= q.keys()
    assert q["magnitude"] == 6.0 and q["distance_km"] == 20.0
    assert q["p_arrival_time_ns"] == s["start_time_ns"] + 15 * 1_000_000_000  # middle of the record
    r_km = math.hypot(20.0, 10.0)
    assert (q["s_arrival_time_ns"] - q["p_arrival_time_ns"]) / 1e9 == pytest.approx(r_km / 3.5 - r_km / 6.0, abs=0.01)
    assert 0.05 < q["pga_mps2"] < 20.0
