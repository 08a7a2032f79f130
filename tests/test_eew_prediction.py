"""Tests for quakewatch.ext.eew_prediction (issue [8], warning messages).

Oracles: constant-velocity S arrival ``t0 + R / vs`` (analytic); the Yu et al.
(2013) relations evaluated here from their published coefficients (circular
isoseismal: ``sqrt(R_a(I) R_b(I)) = r``, solved by bisection in the test);
the alert gate's stated conditions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from quakewatch.ext.eew_prediction import alert_decision, predict_sites
from quakewatch.ext.intensity_attenuation import INTENSITY_MODELS, ms_from_mw
from quakewatch.ext.layered_traveltime import ConstantVelocity
from quakewatch.ext.regional_location import RegionalLocation, RegionalLocator, StationPick, project, unproject

V = ConstantVelocity(6000.0, 3500.0)


def _location(depth_km: float = 10.0, t0: float = 100.0) -> RegionalLocation:
    """A noise-free constant-velocity solution at (113, 37), depth ``depth_km``."""
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-30e3, 30e3, 8), rng.uniform(-30e3, 30e3, 8)
    lon, lat = unproject(113.0, 37.0, x, y)
    px, py = project(113.0, 37.0, lon, lat)
    r = np.sqrt(px**2 + py**2 + (depth_km * 1000.0) ** 2)
    picks = [StationPick(f"S{i}", lon[i], lat[i], 0.0, t0 + r[i] / 6000.0) for i in range(8)]
    return RegionalLocator(V).locate(picks)


@pytest.mark.reference
def test_s_arrival_and_warning_time_constant_velocity() -> None:
    loc = _location()
    sites_x = np.array([0.0, 30e3, 80e3])
    lon, lat = unproject(loc.lon_deg, loc.lat_deg, sites_x, np.zeros(3))
    pred = predict_sites(loc, 5.5, lon, lat, now_s=105.0, model=V)
    r_km = np.hypot(sites_x / 1000.0, loc.depth_km)
    np.testing.assert_allclose(pred.s_arrival_s, loc.origin_time_s + r_km / 3.5, atol=1e-6)
    np.testing.assert_allclose(pred.p_arrival_s, loc.origin_time_s + r_km / 6.0, atol=1e-6)
    np.testing.assert_allclose(pred.warning_s, pred.s_arrival_s - 105.0)
    assert pred.warning_s[0] < 0.0 < pred.warning_s[2]  # blind zone at the epicentre
    assert np.all(pred.s_arrival_std_s >= loc.origin_time_std_s - 1e-12)


def _yu2013_circular(model: str, ms: float, r_km: float) -> float:
    c = INTENSITY_MODELS[model]

    def g(i: float) -> float:
        ra = 10.0 ** ((i - c.a_major - c.b_major * ms) / c.c_major) - c.r0_major_km
        rb = 10.0 ** ((i - c.a_minor - c.b_minor * ms) / c.c_minor) - c.r0_minor_km
        return math.sqrt(max(ra, 1e-12) * max(rb, 1e-12)) - r_km

    lo, hi = 0.0, 14.0  # g decreases with I
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) > 0.0 else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.reference
@pytest.mark.parametrize("mag", [4.0, 5.5, 6.5])
def test_intensity_is_yu2013_with_cheng2017_ms(mag: float) -> None:
    loc = _location()
    d = np.array([5e3, 20e3, 60e3])
    lon, lat = unproject(loc.lon_deg, loc.lat_deg, np.zeros(3), d)
    pred = predict_sites(loc, mag, lon, lat, now_s=101.0, model=V)
    want = [_yu2013_circular("Yu2013Eastern", ms_from_mw(mag), float(k) / 1000.0) for k in d]
    np.testing.assert_allclose(pred.intensity, want, atol=1e-3)
    assert np.all(pred.intensity_std >= INTENSITY_MODELS["Yu2013Eastern"].sigma)


def test_intensity_sigma_grows_with_magnitude_sigma() -> None:
    loc = _location()
    lon, lat = unproject(loc.lon_deg, loc.lat_deg, np.array([0.0]), np.array([30e3]))
    a = predict_sites(loc, 5.0, lon, lat, now_s=101.0, magnitude_std=0.0, model=V)
    b = predict_sites(loc, 5.0, lon, lat, now_s=101.0, magnitude_std=0.5, model=V)
    assert a.intensity_std[0] == pytest.approx(INTENSITY_MODELS["Yu2013Eastern"].sigma)
    assert b.intensity_std[0] > a.intensity_std[0]
    assert a.magnitude_type == "Mpd"


def test_alert_gate_names_every_failed_condition() -> None:
    loc = _location()
    lon, lat = unproject(loc.lon_deg, loc.lat_deg, np.array([0.0]), np.array([10e3]))
    ok = alert_decision(loc, 5.0, predict_sites(loc, 5.0, lon, lat, now_s=101.0, model=V))
    assert ok.alert and ok.reasons == ()
    far_lon, far_lat = unproject(loc.lon_deg, loc.lat_deg, np.array([0.0]), np.array([140e3]))
    weak = alert_decision(loc, 2.5, predict_sites(loc, 3.0, far_lon, far_lat, now_s=101.0, model=V), min_stations=9)
    assert not weak.alert and len(weak.reasons) == 3
    assert any("n_stations 8 < 9" in r for r in weak.reasons) and any("magnitude" in r for r in weak.reasons)


def test_bad_input_is_named_and_inputs_not_mutated() -> None:
    loc = _location()
    lon = np.array([113.1, 113.2])
    lat = np.array([37.1, 37.2])
    before = (lon.copy(), lat.copy())
    predict_sites(loc, 5.0, lon, lat, now_s=101.0, model=V)
    assert np.array_equal(lon, before[0]) and np.array_equal(lat, before[1])
    with pytest.raises(ValueError, match="magnitude must be finite"):
        predict_sites(loc, math.nan, lon, lat, now_s=101.0)
    with pytest.raises(ValueError, match="site_lon"):
        predict_sites(loc, 5.0, [113.0, math.nan], [37.0, 37.0], now_s=101.0)
    with pytest.raises(ValueError, match="intensity_model"):
        predict_sites(loc, 5.0, lon, lat, now_s=101.0, intensity_model="MMI")
