"""Tests for quakewatch.ext.pick_association (issue [8], streaming association).

Oracles: the seeded synthetic network of ``tests/eew_synthetics.py`` (true
hypocentres; ``backend="flat"`` picks, 0.05 s noise) and analytic plane waves.
Negative cases (acceptance 3): single-station spikes, a burst of picks on one
structure and a teleseismic plane wave never produce an event.
"""

from __future__ import annotations

import math

import eew_synthetics as syn
import numpy as np
import pytest
from quakewatch.ext.geodesy import EARTH_RADIUS_KM, haversine
from quakewatch.ext.pick_association import EventStatus, PickAssociator, plane_wave_fit
from quakewatch.ext.regional_location import StationPick

NET = syn.network()


def _run(picks: list[StationPick] | tuple[StationPick, ...], inventory: bool = True) -> tuple[PickAssociator, list]:
    a = PickAssociator(*syn.CENTER, stations=NET.inventory if inventory else None)
    out = []
    for p in picks:
        out.extend(a.add(p))
    return a, out


@pytest.mark.reference
def test_plane_wave_fit_recovers_slowness_and_backazimuth() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-40, 40, 12), rng.uniform(-40, 40, 12)
    baz = math.radians(130.0)
    t = 5.0 - 0.05 * (x * math.sin(baz) + y * math.cos(baz))
    fit = plane_wave_fit(x, y, t)
    assert fit.slowness_s_per_km == pytest.approx(0.05, rel=1e-9)
    assert fit.backazimuth_deg == pytest.approx(130.0, abs=1e-6)
    assert fit.rms_s < 1e-9
    assert math.isinf(plane_wave_fit([0.0, 1.0], [0.0, 1.0], [0.0, 1.0]).rms_s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_event_forms_at_the_fourth_station_and_grows(seed: int) -> None:
    ev = syn.event(NET, seed, backend="flat")
    a = PickAssociator(*syn.CENTER, stations=NET.inventory)
    first = None
    for k, p in enumerate(ev.p_picks):
        out = a.add(p)
        if out and first is None:
            first = (k, out[0])
    assert first is not None
    k, cand = first
    assert cand.status is EventStatus.NEW and k <= 4 and cand.n_stations >= 4  # the 4th (or 5th) pick
    assert haversine(cand.location.lon_deg, cand.location.lat_deg, ev.lon, ev.lat, EARTH_RADIUS_KM) < 5.0
    (final,) = a.events
    assert final.n_stations == len(NET.ids)
    assert haversine(final.location.lon_deg, final.location.lat_deg, ev.lon, ev.lat, EARTH_RADIUS_KM) < 1.0


def test_channels_of_one_structure_count_once() -> None:
    ev = syn.event(NET, 4, backend="flat")
    picks = []
    for p in ev.p_picks[:6]:
        for c in range(3):  # three channels per structure, 10 ms apart
            picks.append(StationPick(p.station_id, p.lon_deg, p.lat_deg, 0.0, p.time_s + 0.01 * c, channel_id=f"c{c}"))
    a, out = _run(picks)
    (event,) = a.events
    assert event.n_stations == 6 and len(event.absorbed) == 12
    assert len({p.station_id for p in event.picks}) == 6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_burst_on_one_structure_never_forms_an_event(seed: int) -> None:
    for inv in (True, False):
        a, out = _run(syn.burst(NET, seed, station=seed * 7, n=60, t_start=10.0), inventory=inv)
        assert out == [] and a.events == ()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_isolated_spikes_never_form_an_event(seed: int) -> None:
    """100 spikes at random stations and times over 10 minutes (one per station per ~6 min)."""
    a, out = _run(syn.spikes(NET, seed, n=100, t_start=0.0, t_end=600.0))
    assert out == [] and a.events == ()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_teleseismic_plane_wave_never_forms_an_event(seed: int) -> None:
    for inv in (True, False):
        a, out = _run(syn.teleseism(NET, seed, t_start=50.0), inventory=inv)
        assert out == [] and a.events == ()


def test_overlapping_events_are_separated() -> None:
    e1 = syn.event(NET, 100, backend="flat", xy_km=(-25.0, -25.0), t0=1000.0)
    e2 = syn.event(NET, 200, backend="flat", xy_km=(25.0, 25.0), t0=1003.0)
    picks = sorted(e1.p_picks + e2.p_picks, key=lambda p: p.time_s)
    a, _ = _run(picks)
    evs = sorted(a.events, key=lambda e: e.location.origin_time_s)
    assert len(evs) == 2
    for got, true in zip(evs, (e1, e2)):
        assert got.n_stations >= len(NET.ids) - 2
        assert haversine(got.location.lon_deg, got.location.lat_deg, true.lon, true.lat, EARTH_RADIUS_KM) < 2.0


def test_old_picks_expire() -> None:
    ev = syn.event(NET, 5, backend="flat")
    a = PickAssociator(*syn.CENTER, stations=NET.inventory, window_s=30.0)
    for p in ev.p_picks[:3]:
        assert a.add(p) == []
    late = [StationPick(p.station_id, p.lon_deg, p.lat_deg, 0.0, p.time_s + 100.0) for p in ev.p_picks[3:4]]
    assert a.add(late[0]) == []  # the first three expired: no 4-station event
    assert a.events == ()


def test_nan_pick_raises_and_leaves_the_state_unchanged() -> None:
    ev = syn.event(NET, 6, backend="flat")
    a = PickAssociator(*syn.CENTER, stations=NET.inventory)
    clean = PickAssociator(*syn.CENTER, stations=NET.inventory)
    for p in ev.p_picks[:3]:
        a.add(p)
        clean.add(p)
    p = ev.p_picks[3]
    with pytest.raises(ValueError, match="time_s must be finite"):
        a.add(StationPick(p.station_id, p.lon_deg, p.lat_deg, 0.0, math.nan))
    with pytest.raises(ValueError, match=r"lon_deg"):
        a.add(StationPick(p.station_id, math.inf, p.lat_deg, 0.0, p.time_s))
    got = [(c.event_id, c.n_stations, c.location.lon_deg) for q in ev.p_picks[3:12] for c in a.add(q)]
    want = [(c.event_id, c.n_stations, c.location.lon_deg) for q in ev.p_picks[3:12] for c in clean.add(q)]
    assert got == want and len(got) > 0


def test_deterministic() -> None:
    ev = syn.event(NET, 7, backend="flat")
    runs = [[(c.event_id, c.status, c.n_stations, c.location.lon_deg, c.location.lat_deg) for c in _run(ev.p_picks[:12])[1]]
            for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 0
