"""Tests for quakewatch.ext.regional_location and regional_velocity (issue [8], location).

Oracles
    * ObsPy TauP (``obspy.taup``, built-in IASP91, spherical Earth): first-arrival
      times against our flat-layer IASP91 crust (``reference``), tolerances as
      stated in ``ext/regional_velocity.py``;
    * constant velocity: picks ``t0 + |s - r| / v`` computed here (analytic);
    * the IASP91 layer values of Kennett & Engdahl (1991) Table 1 (``reference``);
    * seeded synthetic networks (``tests/eew_synthetics.py``, ``backend="flat"``: the
      picks use the locator's own travel times plus 0.05 s Gaussian noise, so
      these tests measure the inversion, not the model; the TauP-based
      statistics are in ``benchmarks/eew_accuracy.py``).
"""

from __future__ import annotations

import math

import eew_synthetics as syn
import numpy as np
import pytest
from quakewatch.ext.geodesy import EARTH_RADIUS_KM, haversine
from quakewatch.ext.layered_traveltime import ConstantVelocity, travel_time
from quakewatch.ext.regional_location import RegionalLocator, StationPick, project, unproject
from quakewatch.ext.regional_velocity import available_velocity_models, load_velocity_model, velocity_model_info


@pytest.mark.reference
def test_iasp91_layers_are_kennett_engdahl_1991() -> None:
    info = velocity_model_info("iasp91")
    assert info.depth_top_km == (0.0, 20.0, 35.0)
    assert info.vp_kmps == (5.80, 6.50, 8.04)
    assert info.vs_kmps == (3.36, 3.75, 4.47)
    # IASP91 mantle at the Moho: vp = 8.78541 - 0.74953 x, vs = 6.706231 - 2.248585 x, x = r / 6371
    x = (6371.0 - 35.0) / 6371.0
    assert info.vp_kmps[2] == pytest.approx(8.78541 - 0.74953 * x, abs=5e-4)
    assert info.vs_kmps[2] == pytest.approx(6.706231 - 2.248585 * x, abs=5e-4)
    assert "iasp91" in available_velocity_models()
    with pytest.raises(ValueError, match="name must be one of"):
        load_velocity_model("nowhere")


def _taup(phase: str, depth_km: float, dist_km: float) -> float:
    from obspy.geodetics import kilometer2degrees
    from obspy.taup import TauPyModel

    arr = TauPyModel("iasp91").get_travel_times(source_depth_in_km=depth_km, distance_in_degree=kilometer2degrees(dist_km),
                                                 phase_list=["ttp" if phase == "P" else "tts"])
    return min(a.time for a in arr)


@pytest.mark.reference
@pytest.mark.parametrize(("phase", "max_km", "tol_s"), [("P", 100.0, 0.05), ("P", 150.0, 0.10), ("S", 100.0, 0.10)],
                         ids=["P-100km", "Pn-150km", "S-100km"])
def test_flat_iasp91_matches_obspy_taup(phase: str, max_km: float, tol_s: float) -> None:
    model = load_velocity_model()
    worst = 0.0
    for depth in (1.0, 8.0, 15.0, 25.0):
        for dist in np.linspace(0.0, max_km, 6):
            ours = float(travel_time(model, [dist * 1000.0, 0.0, -depth * 1000.0], [0.0, 0.0, 0.0], phase))
            worst = max(worst, abs(ours - _taup(phase, depth, float(dist))))
    assert worst < tol_s


def test_projection_round_trip_and_distances() -> None:
    lon0, lat0 = 113.0, 37.0
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-150e3, 150e3, 50), rng.uniform(-150e3, 150e3, 50)
    lon, lat = unproject(lon0, lat0, x, y)
    x2, y2 = project(lon0, lat0, lon, lat)
    np.testing.assert_allclose(x2, x, atol=1e-3)
    np.testing.assert_allclose(y2, y, atol=1e-3)
    # distance from the centre is exact (azimuthal equidistant)
    np.testing.assert_allclose(haversine(lon0, lat0, lon, lat, EARTH_RADIUS_KM) * 1000.0, np.hypot(x, y), rtol=1e-9)


def _stations(rng: np.random.Generator, n: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = rng.uniform(-30e3, 30e3, n), rng.uniform(-30e3, 30e3, n)
    lon, lat = unproject(113.0, 37.0, x, y)
    return x, y, np.asarray(lon), np.asarray(lat)


@pytest.mark.reference
def test_constant_velocity_noise_free_location_is_exact() -> None:
    rng = np.random.default_rng(5)
    v = ConstantVelocity(6000.0, 3500.0)
    loc = RegionalLocator(v)
    x, y, lon, lat = _stations(rng)
    for src in ([3000.0, -7000.0, -12000.0], [-15000.0, 20000.0, -6000.0]):
        lon0, lat0 = float(np.mean(lon)), float(np.mean(lat))
        sx, sy = project(lon0, lat0, lon, lat)
        ex, ey = unproject(lon0, lat0, src[0], src[1])
        px, py = project(lon0, lat0, lon, lat)
        r = np.sqrt((px - src[0]) ** 2 + (py - src[1]) ** 2 + src[2] ** 2)
        picks = [StationPick(f"S{i}", lon[i], lat[i], 0.0, 50.0 + r[i] / 6000.0) for i in range(x.size)]
        picks += [StationPick(f"S{i}", lon[i], lat[i], 0.0, 50.0 + r[i] / 3500.0, phase="S") for i in range(3)]
        sol = loc.locate(picks)
        assert not sol.depth_fixed
        assert haversine(sol.lon_deg, sol.lat_deg, ex, ey, EARTH_RADIUS_KM) < 0.01  # km
        assert sol.depth_km == pytest.approx(-src[2] / 1000.0, abs=0.02)
        assert sol.origin_time_s == pytest.approx(50.0, abs=1e-3)
        assert sol.rms_s < 1e-4 and sol.n_phases == 13 and sol.n_stations == 10


def _picks(ev: syn.Event, n: int) -> list[StationPick]:
    return list(ev.p_picks[:n])


def test_four_stations_fix_the_depth_and_locate_within_a_few_km() -> None:
    net = syn.network()
    loc = RegionalLocator()
    errs = []
    for seed in range(6):
        ev = syn.event(net, seed, backend="flat")
        sol = loc.locate(_picks(ev, 4))
        assert sol.depth_fixed and sol.depth_km == 10.0 and math.isnan(sol.depth_std_km)
        errs.append(float(haversine(sol.lon_deg, sol.lat_deg, ev.lon, ev.lat, EARTH_RADIUS_KM)))
    assert np.median(errs) < 3.0


@pytest.mark.reference
def test_synthetic_network_epicentre_error_median_below_10_km() -> None:
    """Median epicentral error (km) with the first 4, 6 and 10 P picks of 12 seeded events."""
    net = syn.network()
    loc = RegionalLocator()
    for n in (4, 6, 10):
        errs = []
        for seed in range(12):
            ev = syn.event(net, seed, backend="flat")
            sol = loc.locate(_picks(ev, n))
            errs.append(float(haversine(sol.lon_deg, sol.lat_deg, ev.lon, ev.lat, EARTH_RADIUS_KM)))
        assert np.median(errs) <= 10.0
        assert np.median(errs) < 2.0  # what the inversion achieves with 0.05 s picks


def test_outlier_pick_is_rejected() -> None:
    net = syn.network()
    ev = syn.event(net, 3, backend="flat")
    picks = _picks(ev, 12)
    bad = picks[5]
    picks[5] = StationPick(bad.station_id, bad.lon_deg, bad.lat_deg, 0.0, bad.time_s + 3.0)
    sol = RegionalLocator().locate(picks)
    assert not sol.used[5] and sol.used.sum() == 11
    assert haversine(sol.lon_deg, sol.lat_deg, ev.lon, ev.lat, EARTH_RADIUS_KM) < 2.0
    assert sol.residuals_s[5] > 2.5


def test_uncertainty_fields_are_consistent() -> None:
    net = syn.network()
    ev = syn.event(net, 8, backend="flat")
    sol = RegionalLocator().locate(_picks(ev, 12))
    e = sol.error_ellipse
    assert 0.0 < e.semi_minor_km <= e.semi_major_km < 10.0 and 0.0 <= e.azimuth_deg < 180.0
    assert sol.epicentre_std_km > 0.0 and sol.origin_time_std_s > 0.0 and 0.0 < sol.gap_deg < 360.0
    assert sol.covariance.shape == (4, 4) and not sol.covariance.flags.writeable


def test_inputs_are_not_mutated_and_bad_input_is_named() -> None:
    net = syn.network()
    ev = syn.event(net, 1, backend="flat")
    picks = _picks(ev, 6)
    before = list(picks)
    RegionalLocator().locate(picks)
    assert picks == before
    p = picks[0]
    with pytest.raises(ValueError, match=r"picks\[0\]\.lat_deg"):
        RegionalLocator().locate([StationPick(p.station_id, p.lon_deg, math.nan, 0.0, p.time_s), *picks[1:]])
    with pytest.raises(ValueError, match="at least 4 picks"):
        RegionalLocator().locate(picks[:3])
    with pytest.raises(ValueError, match="duplicate P pick"):
        RegionalLocator().locate([*picks, picks[0]])
    with pytest.raises(ValueError, match="fixed_depth_km"):
        RegionalLocator(fixed_depth_km=50.0)
