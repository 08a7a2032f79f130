"""Post-event tag of a structure from its event windows: floor sensors grouped by
direction and height, drift from the simulated frame (exact ``lsim`` response, the
oracle of tests/test_drift.py), the limit table of GB 50011 (REFERENCES.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_drift import FRAME5, FS_HZ, filtered_noise_ground, heights, true_drift_ratio, with_noise

from quakewatch.server.analysis.detector import NS, ChannelMeta, Window
from quakewatch.server.analysis.post_event import post_event_assessment, storey_drifts
from quakewatch.v1 import health_pb2

pytestmark = pytest.mark.reference


def _windows(pga: float, seed: int = 1) -> tuple[list[Window], np.ndarray, int]:
    """Ground + 5 floors in x (azimuth 90) from the frame's response, plus vertical and
    temperature channels that must be ignored; returns windows, true ratios, onset."""
    ag = filtered_noise_ground(seed, pga_mps2=pga)
    u_rel, acc_abs, _ = FRAME5.respond(ag, FS_HZ)
    h = heights(5)
    rows = with_noise(np.vstack([ag, acc_abs]), 0.01, seed)
    chans = [ChannelMeta(f"L{k}-X", array_id=f"L{k}", orientation="X", azimuth_deg=90.0, dip_deg=0.0, floor=k, height_m=float(h[k]))
             for k in range(6)]
    chans.append(ChannelMeta("L5-Z", array_id="L5", orientation="Z", azimuth_deg=0.0, dip_deg=-90.0, floor=5, height_m=float(h[5])))
    rows = np.vstack([rows, 0.01 * np.random.default_rng(seed).standard_normal(ag.size)])
    start = 1_700_000_000 * NS
    onset = start + 5 * NS  # the ground record is quiet for its first 5 s
    return [Window(tuple(chans), FS_HZ, start, rows)], true_drift_ratio(u_rel, h), onset


def test_drift_from_windows_matches_the_frame_within_10pct():
    windows, truth, onset = _windows(3.0)
    ratios, notes = storey_drifts(windows, onset, highpass_hz=1.54 / 5)
    assert ratios is not None and ratios.size == 5
    np.testing.assert_allclose(ratios, truth, rtol=0.10)
    assert len(notes) == 1 and "azimuth 90 deg: 6 levels" in notes[0]


@pytest.mark.parametrize("pga", [0.3, 3.0, 30.0])
def test_tag_follows_the_gb50011_rc_frame_limits(pga):
    windows, truth, onset = _windows(pga)
    inputs = {"windows": windows, "kind": "building", "system": "rc_frame", "code": "GB50011", "highpass_hz": 1.54 / 5}
    a = post_event_assessment("tower", "e1", onset, inputs, None, "")
    assert a.kind == health_pb2.ASSESSMENT_KIND_POST_EVENT and a.event_id == "e1"
    assert a.max_drift_ratio == pytest.approx(truth.max(), rel=0.10)
    # GB 50011-2010 RC frame: elastic 1/550, elasto-plastic 1/50 (REFERENCES.md); drift is one
    # indicator, so at most YELLOW without a second one (the frequency shift is pending)
    expected = health_pb2.HEALTH_STATUS_GREEN if truth.max() <= 1 / 550 else health_pb2.HEALTH_STATUS_YELLOW
    assert a.status == expected, list(a.reasons)
    assert any("frequency shift: pending" in r for r in a.reasons)
    assert json.loads(a.provenance_json)["system"] == "rc_frame"


def test_red_needs_the_frequency_drop_as_a_second_indicator():
    windows, truth, onset = _windows(30.0)
    assert truth.max() > 1 / 50  # beyond the elasto-plastic limit: the drift indicator is RED-level
    inputs = {"windows": windows, "kind": "building", "system": "rc_frame", "code": "GB50011", "highpass_hz": 0.3}
    alone = post_event_assessment("tower", "e2", onset, inputs, -0.05, "r1")
    both = post_event_assessment("tower", "e2", onset, inputs, -0.30, "r1")
    assert alone.status == health_pb2.HEALTH_STATUS_YELLOW
    assert both.status == health_pb2.HEALTH_STATUS_RED
    assert both.assessment_id == alone.assessment_id  # the re-issued tag replaces the first one


def test_kind_without_limit_table_is_unknown_with_a_reason():
    windows, _, onset = _windows(3.0)
    a = post_event_assessment("dam-1", "e3", onset, {"windows": windows, "kind": "dam", "system": "", "code": "GB50011"}, None, "")
    assert a.status == health_pb2.HEALTH_STATUS_UNKNOWN
    assert "no drift limit table for a structure of kind 'dam'" in a.reasons[0]


def test_free_field_only_structure_is_unknown_not_an_error():
    """A building with only a ground sensor has no storey drift: the tag waits for the
    frequency shift (it used to raise inside the health worker)."""
    windows, _, onset = _windows(3.0)
    ground = [Window(tuple(ChannelMeta(m.channel_id, orientation=m.orientation, azimuth_deg=m.azimuth_deg, floor=0, height_m=0.0)
                           for m in w.channels), w.rate_hz, w.start_ns, w.data) for w in windows]
    a = post_event_assessment("b-1", "e4", onset, {"windows": ground, "kind": "building", "system": "rc_frame", "code": "GB50011"}, None, "")
    assert a.status == health_pb2.HEALTH_STATUS_UNKNOWN and "no drift" in a.reasons[0]
