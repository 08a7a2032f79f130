"""Post-event rapid tagging (``quakewatch.server.analysis.tagging``).

The expected table values are written here from their sources (REFERENCES.md
"Operational modal analysis and health" for GB 50011 and ASCE 41; Hazus-MH 2.1
Technical Manual Table 5.9a for Hazus), not read back from the CSV.

Boundary convention under test: a limit is exceeded only when the value is strictly
greater; a value equal to a limit complies.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from quakewatch.server.analysis.tagging import (
    DriftCode,
    Indicator,
    IndicatorThresholds,
    Level,
    drift_limits,
    indicator_thresholds,
    known_codes,
    known_systems,
    tag_after_event,
)

# ----------------------------------------------------------------------------- table values

# REFERENCES.md: GB 50011-2010 elastic RC frame 1/550, frame-shear wall 1/800, shear wall
# 1/1000, steel 1/250; elasto-plastic RC frame 1/50, frame-shear wall 1/100, shear wall 1/120,
# steel 1/50. ASCE 41 (transient) RC frames IO/LS/CP 1/2/4 %.
PUBLISHED = [
    ("GB50011", "rc_frame", "elastic", 1 / 550),
    ("GB50011", "rc_frame_shear_wall", "elastic", 1 / 800),
    ("GB50011", "rc_shear_wall", "elastic", 1 / 1000),
    ("GB50011", "steel", "elastic", 1 / 250),
    ("GB50011", "rc_frame", "elasto_plastic", 1 / 50),
    ("GB50011", "rc_frame_shear_wall", "elasto_plastic", 1 / 100),
    ("GB50011", "rc_shear_wall", "elasto_plastic", 1 / 120),
    ("GB50011", "steel", "elasto_plastic", 1 / 50),
    ("ASCE41", "rc_frame", "IO", 0.01),
    ("ASCE41", "rc_frame", "LS", 0.02),
    ("ASCE41", "rc_frame", "CP", 0.04),
]
# Hazus-MH 2.1 Technical Manual Table 5.9a (high-code), median drift at the threshold of
# slight / moderate / extensive / complete structural damage.
HAZUS_TABLE_5_9A = {
    "C1L_HC": (0.005, 0.010, 0.030, 0.080),
    "C1M_HC": (0.0033, 0.0067, 0.020, 0.0533),
    "C1H_HC": (0.0025, 0.005, 0.015, 0.040),
    "C2M_HC": (0.0027, 0.0067, 0.020, 0.0533),
    "S1L_HC": (0.006, 0.012, 0.030, 0.080),
    "S1M_HC": (0.004, 0.008, 0.020, 0.0533),
    "S1H_HC": (0.003, 0.006, 0.015, 0.040),
    "S2L_HC": (0.005, 0.010, 0.030, 0.080),
    "S2M_HC": (0.0033, 0.0067, 0.020, 0.0533),
    "S2H_HC": (0.0025, 0.005, 0.015, 0.040),
    "W1_HC": (0.004, 0.012, 0.040, 0.100),
}
HAZUS_STATES = ("slight", "moderate", "extensive", "complete")


@pytest.mark.reference
@pytest.mark.parametrize("code,system,level,expected", PUBLISHED, ids=[f"{c}-{s}-{lv}" for c, s, lv, _ in PUBLISHED])
def test_table_values_equal_published_numbers(code: str, system: str, level: str, expected: float) -> None:
    lim = drift_limits(code, system).limit(level)
    assert lim.drift_ratio == expected  # exact: 1/550 is stored as the fraction "1/550"
    assert lim.source


@pytest.mark.reference
@pytest.mark.parametrize("system", sorted(HAZUS_TABLE_5_9A))
def test_hazus_values_equal_table_5_9a(system: str) -> None:
    limits = drift_limits("HAZUS", system)
    got = tuple(limits.limit(state).drift_ratio for state in HAZUS_STATES)
    assert got == HAZUS_TABLE_5_9A[system]
    assert all("Table 5.9a" in lim.source for lim in limits.limits)


def test_table_covers_exactly_the_published_systems() -> None:
    assert known_codes() == ("ASCE41", "GB50011", "HAZUS")
    assert known_systems("GB50011") == ("rc_frame", "rc_frame_shear_wall", "rc_shear_wall", "steel")
    assert known_systems(DriftCode.ASCE41) == ("rc_frame",)
    assert set(known_systems("HAZUS")) == set(HAZUS_TABLE_5_9A)


def test_collapse_side_limits_are_red_level() -> None:
    assert [lim.indicator_level for lim in drift_limits("GB50011", "rc_frame").limits] == [Level.YELLOW, Level.RED]
    assert [lim.indicator_level for lim in drift_limits("ASCE41", "rc_frame").limits] == [Level.YELLOW, Level.YELLOW, Level.RED]
    assert [lim.indicator_level for lim in drift_limits("HAZUS", "C1M_HC").limits] == [
        Level.YELLOW, Level.YELLOW, Level.RED, Level.RED,
    ]


@pytest.mark.parametrize("code", ["GB 50011", "gb50011", "GB-50011", DriftCode.GB50011])
def test_code_spelling_is_forgiving(code: str) -> None:
    assert drift_limits(code, "RC_Frame").code is DriftCode.GB50011


def test_unknown_code_lists_known_ones() -> None:
    with pytest.raises(ValueError, match=r"code 'EC8' unknown; known: ASCE41, GB50011, HAZUS"):
        drift_limits("EC8", "rc_frame")
    with pytest.raises(ValueError, match=r"code 'EC8' unknown; known: ASCE41, GB50011, HAZUS"):
        tag_after_event(drift_ratios=[0.001], system="rc_frame", code="EC8")


def test_unknown_system_lists_known_ones() -> None:
    with pytest.raises(ValueError, match=r"system 'masonry' unknown for code GB50011; known: rc_frame, rc_frame_shear_wall, rc_shear_wall, steel"):
        tag_after_event(drift_ratios=[0.001], system="masonry")
    with pytest.raises(ValueError, match=r"performance_level 'DBE' unknown for ASCE41 rc_frame; known: IO, LS, CP"):
        drift_limits("ASCE41", "rc_frame").limit("DBE")


# ----------------------------------------------------------------------------- tags follow the table


def _all_limits() -> list[tuple[str, str, int]]:
    out = []
    for code in known_codes():
        for system in known_systems(code):
            for k in range(len(drift_limits(code, system).limits)):
                out.append((code, system, k))
    return out


@pytest.mark.parametrize("code,system,k", _all_limits())
def test_drift_indicator_follows_the_limit_table_at_every_boundary(code: str, system: str, k: int) -> None:
    limits = drift_limits(code, system).limits
    lim = limits[k]
    below = Level.GREEN if k == 0 else limits[k - 1].indicator_level
    at = tag_after_event(drift_ratios=[0.0, lim.drift_ratio], system=system, code=code).indicators[0]
    above = tag_after_event(drift_ratios=[np.nextafter(lim.drift_ratio, 1.0), 0.0], system=system, code=code).indicators[0]
    assert at.level is below  # inclusive: equal to the limit complies
    assert above.level is lim.indicator_level
    assert above.limit == lim.drift_ratio and above.limit_name == lim.performance_level


def test_gb50011_rc_frame_boundaries_by_hand() -> None:
    def status(drift: float) -> tuple[Level, Level | None]:
        tag = tag_after_event(drift_ratios=[drift], system="rc_frame")
        return tag.status, tag.indicators[0].level

    assert status(1 / 550) == (Level.GREEN, Level.GREEN)
    assert status(np.nextafter(1 / 550, 1.0)) == (Level.YELLOW, Level.YELLOW)
    assert status(1 / 50) == (Level.YELLOW, Level.YELLOW)
    # above the elasto-plastic limit: the drift indicator is RED-level, but alone it is not RED
    assert status(np.nextafter(1 / 50, 1.0)) == (Level.YELLOW, Level.RED)


# ----------------------------------------------------------------------------- frequency


def test_default_thresholds() -> None:
    th = indicator_thresholds()
    assert th.frequency_drop_yellow == 0.10  # REFERENCES.md: up to ~10 % is not damage
    assert (th.frequency_drop_red, th.peak_response_yellow, th.peak_response_red) == (0.20, 1.0, 2.0)


def test_frequency_drop_boundaries() -> None:
    def level(shift: float) -> Level | None:
        return tag_after_event(drift_ratios=None, system="rc_frame", frequency_shift=shift).indicators[1].level

    assert level(+0.05) is Level.GREEN
    assert level(-0.10) is Level.GREEN  # exactly 10 %: a temporary drop, not damage
    assert level(np.nextafter(-0.10, -1.0)) is Level.YELLOW
    assert level(-0.20) is Level.YELLOW
    assert level(np.nextafter(-0.20, -1.0)) is Level.RED


@pytest.mark.parametrize("drop", [0.11, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("drift", [None, [0.001]], ids=["no-drift", "drift-green"])
@pytest.mark.parametrize("peak", [None, 0.5, 1.5], ids=["no-peak", "peak-green", "peak-yellow"])
def test_frequency_drop_alone_never_gives_red(drop: float, drift: list[float] | None, peak: float | None) -> None:
    tag = tag_after_event(drift_ratios=drift, system="rc_frame", frequency_shift=-drop, peak_response_ratio=peak)
    assert tag.status is Level.YELLOW
    if drop > 0.2:
        assert tag.indicators[1].level is Level.RED
        assert "a frequency drop alone never gives RED" in tag.reasons[0]


# ----------------------------------------------------------------------------- combination


RED_DRIFT = [0.001, 0.025, 0.004]  # storey 1 above GB 50011 RC frame 1/50
RED_FREQ = -0.30
RED_PEAK = 2.5


@pytest.mark.parametrize(
    "kwargs,reds",
    [
        pytest.param({"drift_ratios": RED_DRIFT, "frequency_shift": RED_FREQ}, {"drift", "frequency"}, id="drift+frequency"),
        pytest.param({"drift_ratios": RED_DRIFT, "peak_response_ratio": RED_PEAK}, {"drift", "peak_response"}, id="drift+peak"),
        pytest.param({"drift_ratios": None, "frequency_shift": RED_FREQ, "peak_response_ratio": RED_PEAK}, {"frequency", "peak_response"}, id="frequency+peak"),
        pytest.param({"drift_ratios": RED_DRIFT, "frequency_shift": RED_FREQ, "peak_response_ratio": RED_PEAK}, {"drift", "frequency", "peak_response"}, id="all-three"),
    ],
)
def test_two_red_indicators_give_red(kwargs: dict[str, object], reds: set[str]) -> None:
    tag = tag_after_event(system="rc_frame", **kwargs)  # type: ignore[arg-type]
    assert tag.status is Level.RED
    assert tag.n_red_indicators == len(reds)
    assert {ind.indicator.value for ind in tag.indicators if ind.level is Level.RED} == reds
    assert tag.reasons[0].startswith(f"RED: {len(reds)} independent indicators at RED level")


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"drift_ratios": RED_DRIFT}, id="drift-only"),
        pytest.param({"drift_ratios": RED_DRIFT, "frequency_shift": -0.15, "peak_response_ratio": 1.5}, id="drift-red-others-yellow"),
        pytest.param({"drift_ratios": [0.003], "frequency_shift": -0.15, "peak_response_ratio": RED_PEAK}, id="peak-red-others-yellow"),
        pytest.param({"drift_ratios": None, "peak_response_ratio": RED_PEAK}, id="peak-only"),
    ],
)
def test_one_red_indicator_is_not_red(kwargs: dict[str, object]) -> None:
    tag = tag_after_event(system="rc_frame", **kwargs)  # type: ignore[arg-type]
    assert tag.status is Level.YELLOW
    assert tag.n_red_indicators == 1
    assert "RED needs at least 2 independent indicators" in tag.reasons[0]


def test_drift_counts_once_however_many_storeys() -> None:
    tag = tag_after_event(drift_ratios=[0.03, 0.04, 0.05, 0.06], system="rc_frame")
    assert tag.status is Level.YELLOW and tag.n_red_indicators == 1
    assert tag.indicators[0].storey == 3 and tag.indicators[0].value == 0.06


def test_green_and_yellow_without_red() -> None:
    green = tag_after_event(drift_ratios=[0.001, 0.0015], system="rc_frame", frequency_shift=-0.08, peak_response_ratio=0.9)
    assert green.status is Level.GREEN
    assert [ind.level for ind in green.indicators] == [Level.GREEN] * 3
    yellow = tag_after_event(drift_ratios=[0.001], system="rc_frame", peak_response_ratio=1.2)
    assert yellow.status is Level.YELLOW
    assert yellow.reasons[0] == "YELLOW: indicators at YELLOW level: peak_response; missing: frequency"


def test_each_indicator_has_its_own_level() -> None:
    tag = tag_after_event(drift_ratios=[0.003], system="rc_frame", frequency_shift=-0.5, peak_response_ratio=0.4)
    assert [(ind.indicator, ind.level) for ind in tag.indicators] == [
        (Indicator.DRIFT, Level.YELLOW),
        (Indicator.FREQUENCY, Level.RED),
        (Indicator.PEAK_RESPONSE, Level.GREEN),
    ]
    assert tag.status is Level.YELLOW


def test_hazus_tags_follow_its_damage_states() -> None:
    # C1M high-code: slight 0.0033, moderate 0.0067, extensive 0.020, complete 0.0533
    def drift_level(d: float) -> Level | None:
        return tag_after_event(drift_ratios=[d], system="C1M_HC", code="HAZUS").indicators[0].level

    assert drift_level(0.003) is Level.GREEN
    assert drift_level(0.005) is Level.YELLOW
    assert drift_level(0.015) is Level.YELLOW
    assert drift_level(0.025) is Level.RED
    assert drift_level(0.06) is Level.RED


# ----------------------------------------------------------------------------- reasons


def test_reasons_name_indicator_value_and_limit() -> None:
    tag = tag_after_event(drift_ratios=[0.001, 0.003, 0.002], system="rc_frame", frequency_shift=-0.12, peak_response_ratio=2.4)
    summary, drift, freq, peak = tag.reasons
    assert summary.startswith("YELLOW: 1 indicator at RED level (peak_response)")
    assert drift == (
        "drift: peak inter-storey drift ratio 0.00300 (1/333) in storey 1 (levels 1-2) exceeds the GB50011 rc_frame "
        "elastic limit 1/550 (0.00182), below the elasto_plastic limit 1/50 (0.02000) -> YELLOW"
    )
    assert freq == (
        "frequency: fundamental frequency drop 12.0 % exceeds the YELLOW threshold 10.0 % (RED level above 20.0 %) -> YELLOW"
    )
    assert peak == "peak_response: peak response / design value 2.40 exceeds the RED threshold 2.00 -> RED"


def test_missing_indicators_are_stated() -> None:
    tag = tag_after_event(drift_ratios=[0.001], system="steel")
    assert tag.reasons[2] == "frequency: not available (no pre/post-event fundamental frequency); not counted"
    assert tag.reasons[3] == "peak_response: not available (no design value given); not counted"
    assert tag.reasons[0].endswith("missing: frequency, peak_response")
    assert [ind.level for ind in tag.indicators[1:]] == [None, None]


def test_frequency_rise_is_green_and_says_so() -> None:
    tag = tag_after_event(drift_ratios=None, system="rc_frame", frequency_shift=0.03)
    assert tag.status is Level.GREEN
    assert "changed by +3.0 % (no drop" in tag.reasons[2]


# ----------------------------------------------------------------------------- inputs


def test_accepts_read_only_arrays_and_custom_thresholds() -> None:
    drifts = np.array([0.001, 0.004])
    drifts.flags.writeable = False
    custom = IndicatorThresholds(0.05, 0.08, 1.2, 1.5)
    kwargs = {"drift_ratios": drifts, "system": "rc_frame", "frequency_shift": -0.09, "peak_response_ratio": 1.6}
    default = tag_after_event(**kwargs)  # type: ignore[arg-type]
    assert [ind.level for ind in default.indicators] == [Level.YELLOW, Level.GREEN, Level.YELLOW]
    assert default.status is Level.YELLOW
    tag = tag_after_event(**kwargs, thresholds=custom)  # type: ignore[arg-type]
    assert [ind.level for ind in tag.indicators] == [Level.YELLOW, Level.RED, Level.RED]
    assert tag.status is Level.RED and tag.thresholds is custom


@pytest.mark.parametrize(
    "kwargs,match",
    [
        pytest.param({"drift_ratios": []}, r"drift_ratios must be a non-empty 1-D sequence", id="empty"),
        pytest.param({"drift_ratios": [[0.001]]}, r"drift_ratios must be a non-empty 1-D sequence", id="2-D"),
        pytest.param({"drift_ratios": [0.001, math.nan]}, r"drift_ratios must be finite and >= 0", id="nan"),
        pytest.param({"drift_ratios": [-0.001]}, r"drift_ratios must be finite and >= 0", id="negative"),
        pytest.param({"drift_ratios": None, "frequency_shift": -1.0}, r"frequency_shift must be finite and > -1", id="shift-minus-one"),
        pytest.param({"drift_ratios": None, "frequency_shift": math.nan}, r"frequency_shift must be finite", id="shift-nan"),
        pytest.param({"drift_ratios": None, "peak_response_ratio": -0.5}, r"peak_response_ratio must be finite and >= 0", id="peak-negative"),
        pytest.param({"drift_ratios": None}, r"at least one of drift_ratios, frequency_shift, peak_response_ratio", id="nothing"),
    ],
)
def test_invalid_values_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tag_after_event(system="rc_frame", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [(0.2, 0.1, 1.0, 2.0), (0.1, 1.0, 1.0, 2.0), (0.1, 0.2, 0.0, 2.0), (0.1, 0.2, 3.0, 2.0)])
def test_invalid_thresholds_raise(args: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match=r"thresholds must satisfy 0 < yellow < red <"):
        IndicatorThresholds(*args)
