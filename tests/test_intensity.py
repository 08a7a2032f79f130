"""Instrumental intensity (GB/T 17742-2020 Annex A) and MMI (Worden et al. 2012).

Expected values are hand-computed from the standard's formulas
(``I_PGA = 3.17 log10 PGA + 6.59``, ``I_PGV = 3.00 log10 PGV + 9.77``; powers of
ten give exact decimals) and, for real records, an independent implementation
written here with ObsPy (``Stream.filter`` + ``Stream.integrate``) and
``decimal``, never calling quakewatch.
"""

from __future__ import annotations

import math
import os
import warnings
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from quakewatch.ext.motion import (
    WORDEN2012,
    GroundMotionParameter,
    instrumental_intensity,
    intensity_from_peaks,
    mmi_worden2012,
    round_half_up,
)

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


def _pgv_for(i_pgv: float) -> float:
    return float(10 ** ((i_pgv - 9.77) / 3.0))


# (pga m/s^2, pgv m/s, expected intensity, degree, i_pga, i_pgv), hand-computed.
RULE_CASES = {
    # both >= 6 -> I_PGV
    "both_ge6": (1.0, 0.1, 6.8, "VII", 6.59, 6.77),
    "both_ge6_high": (10.0, 1.0, 9.8, "X", 9.76, 9.77),
    # I_PGA >= 6 but I_PGV < 6 -> mean (OR-rule bug would give I_PGV 3.77 -> IV)
    "pga_ge6_pgv_lt6": (1.0, 0.01, 5.2, "V", 6.59, 3.77),
    "pga_ge6_pgv_lt6_b": (10.0, 0.01, 6.8, "VII", 9.76, 3.77),  # (9.76 + 3.77) / 2 = 6.765
    # I_PGV >= 6 but I_PGA < 6 -> mean (swapped-branch bug would give 9.77)
    "pgv_ge6_pga_lt6": (0.1, 1.0, 6.6, "VII", 3.42, 9.77),  # 6.595
    "both_lt6": (0.1, 0.01, 3.6, "IV", 3.42, 3.77),  # 3.595
    # clamps
    "clamp_low": (0.001, 0.001, 1.0, "I", -2.92, 0.77),  # mean -1.075
    "clamp_high": (1000.0, 100.0, 12.0, "XII", 16.1, 15.77),
    "zero_motion": (0.0, 0.0, 1.0, "I", -math.inf, -math.inf),
    # half-up ties reached through the formulas (float lands within 1e-15 of x.x5)
    "tie_and_branch": (10.0, _pgv_for(7.25), 7.3, "VII", 9.76, 7.25),
    "tie_mean_branch": (0.1, _pgv_for(5.88), 4.7, "V", 3.42, 5.88),  # 4.65
    # degree bounds n - 0.5 <= I < n + 0.5 on the rounded value
    "degree_at_5.5": (0.1, _pgv_for(7.58), 5.5, "VI", 3.42, 7.58),
    "degree_5.45_rounds_to_VI": (0.1, _pgv_for(7.48), 5.5, "VI", 3.42, 7.48),
    "degree_5.44_stays_V": (0.1, _pgv_for(7.46), 5.4, "V", 3.42, 7.46),
    "degree_at_11.5": (100.0, _pgv_for(11.5), 11.5, "XII", 12.93, 11.5),
    "degree_11.4": (100.0, _pgv_for(11.4), 11.4, "XI", 12.93, 11.4),
    "degree_1.4": (0.01, _pgv_for(2.55), 1.4, "I", 0.25, 2.55),
    "degree_1.5": (0.01, _pgv_for(2.75), 1.5, "II", 0.25, 2.75),
}


@pytest.mark.reference
@pytest.mark.parametrize("case", RULE_CASES, ids=list(RULE_CASES))
def test_formula_rules_hand_computed(case: str) -> None:
    pga, pgv, expected, degree, i_pga, i_pgv = RULE_CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log10(0) warnings for zero motion
        r = intensity_from_peaks(pga, pgv)
    assert r.intensity == expected
    assert r.degree == degree
    assert r.degree_number == ROMAN.index(degree) + 1
    assert r.i_pga == pytest.approx(i_pga, abs=1e-12)
    assert r.i_pgv == pytest.approx(i_pgv, abs=1e-12)
    assert (r.pga_mps2, r.pgv_mps) == (pga, pgv)


@pytest.mark.reference
def test_and_rule_threshold_exactly_six() -> None:
    """I_PGA and I_PGV both at 6.0 (to float precision) is the AND branch: I = I_PGV."""
    pga6 = 10 ** ((6.0 - 6.59) / 3.17)
    pgv6 = 10 ** ((6.0 - 9.77) / 3.0)
    r = intensity_from_peaks(pga6 * (1 + 1e-12), pgv6 * (1 + 1e-12))
    assert r.i_pga >= 6.0 and r.i_pgv >= 6.0 and r.intensity == 6.0 and r.degree == "VI"
    # I_PGV just below 6 with I_PGA far above: mean, not I_PGV
    r = intensity_from_peaks(10.0, pgv6 * (1 - 1e-6))
    assert r.i_pgv < 6.0 and r.intensity == 7.9  # (9.76 + 6.0) / 2 = 7.88


@pytest.mark.reference
@pytest.mark.parametrize(
    "value,expected",
    [(5.25, 5.3), (5.15, 5.2), (0.35, 0.4), (1.45, 1.5), (2.675, 2.7), (5.249999999999999, 5.3),
     (5.2499, 5.2), (5.24, 5.2), (6.0, 6.0), (11.95, 12.0), (1.05, 1.1), (8.549999999, 8.5)],
)
def test_round_half_up(value: float, expected: float) -> None:
    ref = float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    if value != 5.249999999999999 and value != 8.549999999:  # tolerance cases: decimal would round down
        assert ref == expected
    assert round_half_up(value) == expected


@pytest.mark.parametrize("pga,pgv,name", [(-1.0, 0.1, "pga_mps2"), (0.1, math.nan, "pgv_mps"), (math.inf, 0.1, "pga_mps2")])
def test_peaks_must_be_finite_non_negative(pga: float, pgv: float, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        intensity_from_peaks(pga, pgv)


# ----------------------------------------------------------------------------- real records


def independent_gb17742(acc: list[np.ndarray], fs_hz: float) -> float:
    """GB/T 17742-2020 Annex A with ObsPy: demean, causal 4th-order Butterworth
    0.1-10 Hz (``zerophase=False``), ``integrate`` (cumtrapz), vector sums,
    formulas, AND rule, clamp, decimal half-up."""
    from obspy import Stream, Trace

    st = Stream([Trace(np.asarray(a, dtype=np.float64).copy(), header={"sampling_rate": fs_hz}) for a in acc])
    st.detrend("demean")
    st.filter("bandpass", freqmin=0.1, freqmax=10.0, corners=4, zerophase=False)
    a = np.vstack([tr.data for tr in st])
    st.integrate(method="cumtrapz")
    v = np.vstack([tr.data for tr in st])
    pga = np.sqrt((a**2).sum(axis=0)).max()
    pgv = np.sqrt((v**2).sum(axis=0)).max()
    i_pga = 3.17 * np.log10(pga) + 6.59
    i_pgv = 3.00 * np.log10(pgv) + 9.77
    i = i_pgv if (i_pga >= 6.0 and i_pgv >= 6.0) else (i_pga + i_pgv) / 2.0
    i = min(max(i, 1.0), 12.0)
    return float(Decimal(f"{i:.9f}").quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _evt_records() -> dict[str, tuple[list[np.ndarray], float]]:
    """Real 3-component accelerograms (Kinemetrics K2 / Etna, Royal Observatory of
    Belgium network) shipped as ObsPy's test data (LGPL-3.0); counts * calib = m/s^2."""
    obspy = pytest.importorskip("obspy")
    kinemetrics = pytest.importorskip("obspy.io.kinemetrics")
    folder = os.path.join(os.path.dirname(kinemetrics.__file__), "tests", "data")
    out = {}
    for name in ("BI008_MEMA-04823.evt", "BX456_MOLA-02351.evt", "STNA.20020722.044649.evt.gz"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st = obspy.read(os.path.join(folder, name))[:3]  # MOLA has 6 channels: the first 3 are one sensor
        out[name.split(".")[0]] = ([tr.data * tr.stats.calib for tr in st], float(st[0].stats.sampling_rate))
    return out


# Scale factors put the real waveforms into every branch (see the comment per id).
SCALES = [1.0, 10.0, 100.0, 1000.0]


@pytest.mark.reference
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("record", ["BI008_MEMA-04823", "BX456_MOLA-02351", "STNA"])
def test_real_records_agree_with_independent_obspy(record: str, scale: float) -> None:
    acc, fs = _evt_records()[record]
    scaled = [scale * a for a in acc]
    ours = instrumental_intensity(*scaled, fs)
    theirs = independent_gb17742(scaled, fs)
    assert abs(ours.intensity - theirs) <= 0.1 + 1e-9
    assert ours.intensity == theirs  # in practice identical
    assert ours.degree == ROMAN[int(math.floor(theirs + 0.5)) - 1]


@pytest.mark.reference
def test_real_records_cover_every_branch() -> None:
    seen = set()
    for acc, fs in _evt_records().values():
        for scale in SCALES:
            r = instrumental_intensity(*[scale * a for a in acc], fs)
            seen.add((r.i_pga >= 6.0, r.i_pgv >= 6.0, r.intensity in (1.0, 12.0)))
    assert {(True, True, False), (True, False, False), (False, False, False), (False, False, True)} <= seen


@pytest.mark.reference
def test_intensity_of_harmonic_motion_by_hand() -> None:
    """E = A sin(2 pi f t), N = A cos(2 pi f t), U = 0 at 2 Hz (in the flat band):
    |a| = A, |v| = A / (2 pi f) in the steady part (20 s raised-cosine ramps avoid
    filter start-up transients)."""
    fs, f, amp = 200.0, 2.0, 1.0
    t = np.arange(int(100 * fs)) / fs
    ramp = np.clip(np.minimum(t, t[-1] - t) / 20.0, 0.0, 1.0)
    env = amp * 0.5 * (1 - np.cos(np.pi * ramp))
    e, n = env * np.sin(2 * np.pi * f * t), env * np.cos(2 * np.pi * f * t)
    r = instrumental_intensity(e, n, np.zeros_like(t), fs)
    assert r.pga_mps2 == pytest.approx(amp, rel=0.02)
    assert r.pgv_mps == pytest.approx(amp / (2 * np.pi * f), rel=0.05)
    # 3.17 log10(1) + 6.59 = 6.59; 3 log10(0.0796) + 9.77 = 6.47: AND rule -> I_PGV
    assert r.intensity == pytest.approx(6.5, abs=0.1)


def test_zero_motion_is_intensity_one_without_warnings() -> None:
    z = np.zeros(1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = instrumental_intensity(z, z, z, 100.0)
    assert (r.intensity, r.degree, r.degree_number, r.pga_mps2, r.pgv_mps) == (1.0, "I", 1, 0.0, 0.0)


def test_prefix_equals_streaming_value() -> None:
    """Causal chain: with a fixed pre-event window, a prefix's intensity is the running value."""
    rng = np.random.default_rng(3)
    decay = np.exp(-np.arange(6000) / 400.0)  # strongest motion in the first 3000 samples
    x = [rng.normal(0, 0.5, 6000) * decay for _ in range(3)]
    full = instrumental_intensity(*x, 100.0, pre_event_s=5.0)
    part = instrumental_intensity(*[a[:3000] for a in x], 100.0, pre_event_s=5.0)
    # a zero-phase filter would let the later samples change the earlier output
    assert part.pga_mps2 == full.pga_mps2


def test_fs_must_exceed_twice_the_band() -> None:
    z = np.ones(100)
    with pytest.raises(ValueError, match=r"fs_hz must be > 20"):
        instrumental_intensity(z, z, z, 20.0)


# ----------------------------------------------------------------------------- Worden 2012


@pytest.mark.reference
@pytest.mark.parametrize(
    "value,parameter,expected",
    [
        (0.1, "pga_mps2", 1.78 + 1.55 * 1.0),  # 10 cm/s^2: log 1 <= 1.57
        (1.0, "pga_mps2", -1.60 + 3.70 * 2.0),  # 100 cm/s^2: log 2 > 1.57
        (10 ** 1.57 / 100, "pga_mps2", 1.78 + 1.55 * 1.57),  # at T1: first branch
        (0.01, "pgv_mps", 3.78),  # 1 cm/s: log 0
        (0.1, "pgv_mps", 2.89 + 3.16 * 1.0),  # 10 cm/s
        (100.0, "pga_mps2", 10.0),  # clipped high
        (0.0, "pga_mps2", 1.0),  # clipped low, no warning
        (1e-4, "pgv_mps", 1.0),
    ],
)
def test_worden2012_hand_computed(value: float, parameter: str, expected: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mmi_worden2012(value, parameter) == pytest.approx(expected, abs=1e-12)


def test_worden2012_arrays_enum_and_source() -> None:
    out = mmi_worden2012(np.array([0.0, 0.1, 1.0]), GroundMotionParameter.PGA_MPS2)
    np.testing.assert_allclose(out, [1.0, 3.33, 5.8])
    assert all("Worden" in c.source for c in WORDEN2012.values())
    with pytest.raises(ValueError, match="finite and >= 0"):
        mmi_worden2012(-1.0, "pgv_mps")
    with pytest.raises(ValueError):
        mmi_worden2012(1.0, "pga_g")
