"""Tests for quakewatch.ext.pager (USGS PAGER empirical loss models).

Expected values come from outside this module: the standard normal CDF written
with ``math.erf``; the numbers USGS's own losspager tests assert
(``test/models/emploss_test.py`` in github.com/usgs/pager: published model
parameters, the rates of theta=10.986839/beta=0.128601 at MMI 5-9, the 1994
Northridge exposure -> 22 deaths, the range probabilities for 70,511 deaths
with G=2.5; esi-utils-pager ``econexposure_test.py``: Northridge economic
exposure -> 25,945,225,582 USD and the range probabilities for 6,819.883892 M
USD); and the alert thresholds of ``EmpiricalLoss.getAlertLevel``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from quakewatch.ext.pager import (
    ALERT_THRESHOLDS,
    AlertLevel,
    EconomicModel,
    FatalityModel,
    LossKind,
    alert_level,
    alert_probabilities,
    combined_zeta,
    economic_model,
    estimate,
    expected_economic_loss,
    expected_fatalities,
    exposure_by_mmi,
    fatality_model,
    fatality_rate,
    load_economic_models,
    load_fatality_models,
    overall_alert,
    range_probabilities,
)


def phi(z: float) -> float:
    """Standard normal CDF from the standard library (independent of scipy).

    ``0.5 * erfc(-z / sqrt(2))`` rather than ``0.5 * (1 + erf(z / sqrt(2)))``:
    the erf form cancels in the lower tail (fatality rates of 1e-10 keep only
    ~6 correct digits), so it is used only as an absolute check.
    """
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def phi_erf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def lognormal_rate(mmi: float, theta: float, beta: float) -> float:
    return phi(math.log(mmi / theta) / beta)


# Northridge 1994 exposure (population of MMI 1..10) and economic exposure
# (population x GDPpc x alpha), from the losspager / esi-utils-pager tests.
NORTHRIDGE_POP = [0, 0, 1506.0, 1946880.0, 6509154.0, 6690236.0, 3405381.0, 1892446.0, 5182.0, 0]
NORTHRIDGE_ECON = [
    0,
    0,
    556171936.807,
    718990717350.0,
    2.40385709638e12,
    2.47073141687e12,
    1.2576210799e12,
    698888019337.0,
    1913733716.16,
    0.0,
]


# --------------------------------------------------------------------------- #
# shipped parameter tables
# --------------------------------------------------------------------------- #


@pytest.mark.reference
@pytest.mark.parametrize(
    ("ccode", "theta", "beta"),
    [
        ("CN", 10.328811, 0.100058),  # REFERENCES.md and emploss_test.py
        ("AF", 11.613073, 0.180683),
        ("JP", 11.862534, 0.100779),
        ("US", 46.155474, 0.434135),
        ("IR", 9.318099, 0.100001),
        ("CL", 19.786773, 0.259531),
        ("IN", 10.986839, 0.128601),  # the model of emploss_test's rate check
    ],
)
def test_shipped_fatality_parameters_match_published(ccode: str, theta: float, beta: float) -> None:
    m = fatality_model(ccode)
    assert (m.theta, m.beta) == (theta, beta)
    assert m.source.startswith("usgs/pager losspager/data/fatality.xml")


@pytest.mark.reference
def test_shipped_economic_parameters_match_published() -> None:
    m = economic_model("AF")  # esi-utils-pager econexposure_test: theta, beta, alpha
    assert (m.theta, m.beta, m.alpha) == (9.013810, 0.100000, 15.065400)


@pytest.mark.regression
def test_tables_cover_the_transcribed_countries() -> None:
    fat, eco = load_fatality_models(), load_economic_models()
    assert len(fat) == 252 and len(eco) == 249
    assert set(fat) - set(eco) == {"BQ", "CW", "SX", "SS"}  # split off after economy.xml was made
    assert set(eco) - set(fat) == {"AN"}
    assert {m.status for m in fat.values()} == {"InCountry", "InGroup"}
    assert all(0.0 < m.zeta <= 2.5 for m in fat.values())


def test_unknown_country_has_no_default_model() -> None:
    with pytest.raises(ValueError, match=r"ccode 'ZZ' has no PAGER fatality model"):
        fatality_model("zz")
    with pytest.raises(ValueError, match=r"ccode must be a two-letter country code"):
        fatality_model("CHN")


# --------------------------------------------------------------------------- #
# rates
# --------------------------------------------------------------------------- #


@pytest.mark.reference
@pytest.mark.parametrize("ccode", ["CN", "JP", "US", "IR", "IT", "TR", "XF"])
def test_fatality_rates_match_erf_oracle(ccode: str) -> None:
    m = fatality_model(ccode)
    mmi = np.array([1.0, 4.0, 5.0, 5.5, 6.0, 7.0, 7.3, 8.0, 9.0, 10.0, 12.0])
    got = m.rates(mmi)
    want = np.array([lognormal_rate(s, m.theta, m.beta) for s in mmi])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=0.0)
    want_erf = np.array([phi_erf(math.log(s / m.theta) / m.beta) for s in mmi])
    np.testing.assert_allclose(got, want_erf, rtol=0.0, atol=1e-15)


@pytest.mark.reference
def test_rates_reproduce_losspager_published_values() -> None:
    # emploss_test.lognormal_object_test: LognormalModel(theta=10.986839, beta=0.128601), MMI 5..9
    published = [4.62833172e-10, 1.27558914e-06, 2.28027416e-04, 6.81282956e-03, 6.04383822e-02]
    got = fatality_rate(np.arange(5, 10), 10.986839, 0.128601)
    np.testing.assert_allclose(got, published, rtol=5e-9)


@pytest.mark.reference
def test_rate_at_theta_is_half_and_zero_mmi_is_zero() -> None:
    assert fatality_rate(10.328811, 10.328811, 0.100058) == pytest.approx(0.5, abs=1e-15)
    assert fatality_rate(0.0, 10.0, 0.1) == 0.0


def test_rate_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match=r"theta must be finite and > 0"):
        fatality_rate(7.0, 0.0, 0.1)
    with pytest.raises(ValueError, match=r"beta must be finite and > 0"):
        fatality_rate(7.0, 10.0, -0.1)
    with pytest.raises(ValueError, match=r"mmi must be finite and >= 0"):
        fatality_rate([7.0, -1.0], 10.0, 0.1)
    with pytest.raises(ValueError, match=r"zeta must be finite and > 0"):
        FatalityModel("CN", 10.0, 0.1, 0.0)


# --------------------------------------------------------------------------- #
# exposure and expected losses
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_exposure_bins_are_centred_on_integers() -> None:
    # losspager calc_exposure: bin n holds n - 0.5 <= MMI < n + 0.5, n = 1..10
    mmi = np.array([0.49999999999999994, 0.5, 1.4999999999, 1.5, 5.0, 10.4999, 10.5, 11.0, 0.0])
    pop = np.array([1.0, 2.0, 3.0, 4.0, 7.0, 5.0, 6.0, 8.0, 9.0])
    before = (mmi.copy(), pop.copy())
    got = exposure_by_mmi(mmi, pop)
    np.testing.assert_array_equal(got, [5.0, 4.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0, 5.0])
    np.testing.assert_array_equal(mmi, before[0])
    np.testing.assert_array_equal(pop, before[1])


def test_exposure_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"population must have the shape of mmi"):
        exposure_by_mmi([5.0, 6.0], [1.0])
    with pytest.raises(ValueError, match=r"population must be finite and >= 0"):
        exposure_by_mmi([5.0], [-1.0])
    with pytest.raises(ValueError, match=r"mmi must be finite"):
        exposure_by_mmi([np.nan], [1.0])


@pytest.mark.reference
def test_northridge_fatalities_as_losspager() -> None:
    deaths = expected_fatalities(NORTHRIDGE_POP, fatality_model("XF"))
    assert math.floor(deaths) == 22  # emploss_test: getLosses({'xf': ...}) == 22 (int-truncated)
    m = fatality_model("XF")
    oracle = sum(NORTHRIDGE_POP[n - 1] * lognormal_rate(n, m.theta, m.beta) for n in range(5, 10))
    assert deaths == pytest.approx(oracle, rel=1e-12)


@pytest.mark.reference
def test_northridge_economic_loss_as_esi_utils_pager() -> None:
    m = economic_model("XF")
    gdp = 45231.7
    population = [v / (gdp * m.alpha) for v in NORTHRIDGE_ECON]
    loss = expected_economic_loss(population, m, gdp)
    assert math.floor(loss) == 25945225582  # econexposure_test: getLosses({'xf': ...})


@pytest.mark.reference
def test_mmi_10_counts_as_9_and_below_5_counts_nothing() -> None:
    m = fatality_model("CN")
    only_10 = [0.0] * 9 + [1e6]
    assert expected_fatalities(only_10, m) == pytest.approx(1e6 * lognormal_rate(9.0, m.theta, m.beta), rel=1e-12)
    below_5 = [1e9, 1e9, 1e9, 1e9, 0, 0, 0, 0, 0, 0]
    assert expected_fatalities(below_5, m) == 0.0


def test_expected_losses_reject_bad_exposure() -> None:
    m = fatality_model("CN")
    with pytest.raises(ValueError, match=r"exposure must have shape \(10,\)"):
        expected_fatalities([1.0] * 9, m)
    with pytest.raises(ValueError, match=r"exposure must be finite and >= 0"):
        expected_fatalities([1.0] * 9 + [-1.0], m)
    with pytest.raises(ValueError, match=r"gdp_per_capita_usd must be finite and > 0"):
        expected_economic_loss([1.0] * 10, economic_model("CN"), 0.0)


def test_expected_losses_do_not_mutate_exposure() -> None:
    e = np.array([0, 0, 0, 0, 1e5, 1e5, 1e5, 1e5, 1e5, 1e5])
    before = e.copy()
    expected_fatalities(e, fatality_model("CN"))
    expected_economic_loss(e, economic_model("CN"), 10000.0)
    np.testing.assert_array_equal(e, before)


# --------------------------------------------------------------------------- #
# alerts
# --------------------------------------------------------------------------- #


@pytest.mark.reference
@pytest.mark.parametrize(
    ("deaths", "level"),
    [
        (0.0, AlertLevel.GREEN),
        (0.999, AlertLevel.GREEN),
        (1.0, AlertLevel.YELLOW),
        (99.0, AlertLevel.YELLOW),
        (99.999, AlertLevel.YELLOW),
        (100.0, AlertLevel.ORANGE),
        (999.0, AlertLevel.ORANGE),
        (999.999, AlertLevel.ORANGE),
        (1000.0, AlertLevel.RED),
        (1e13, AlertLevel.RED),
    ],
)
def test_fatality_alert_boundaries(deaths: float, level: AlertLevel) -> None:
    assert alert_level(deaths, LossKind.FATALITIES) is level


@pytest.mark.reference
@pytest.mark.parametrize(
    ("usd", "level"),
    [
        (0.0, AlertLevel.GREEN),
        (999_999.0, AlertLevel.GREEN),
        (1_000_000.0, AlertLevel.YELLOW),
        (99_999_999.0, AlertLevel.YELLOW),
        (100_000_000.0, AlertLevel.ORANGE),
        (999_999_999.0, AlertLevel.ORANGE),
        (1_000_000_000.0, AlertLevel.RED),
    ],
)
def test_economic_alert_boundaries(usd: float, level: AlertLevel) -> None:
    assert alert_level(usd, LossKind.ECONOMIC_USD) is level


def test_overall_alert_is_the_higher_one() -> None:
    assert overall_alert(AlertLevel.YELLOW, AlertLevel.ORANGE) is AlertLevel.ORANGE
    assert overall_alert(AlertLevel.RED, AlertLevel.GREEN) is AlertLevel.RED
    assert overall_alert(AlertLevel.GREEN, AlertLevel.GREEN) is AlertLevel.GREEN
    with pytest.raises(ValueError, match=r"levels must name at least one"):
        overall_alert()


def test_alert_rejects_negative_loss() -> None:
    with pytest.raises(ValueError, match=r"loss must be finite and >= 0"):
        alert_level(-1.0, LossKind.FATALITIES)


# --------------------------------------------------------------------------- #
# uncertainty
# --------------------------------------------------------------------------- #

PAGER_PROBS_DEATHS = [  # emploss_test: getProbabilities({'TotalFatalities': 70511}, G=2.5)
    3.99586017993e-06,
    0.00019277654968408576,
    0.0041568251597835061,
    0.039995273501147441,
    0.17297196910604343,
    0.3382545813262674,
    0.44442457847445394,
]
PAGER_PROBS_USD = [  # econexposure_test: getProbabilities({'TotalDollars': 6819.883892e6}, G=2.5)
    0.00020696841425738358,
    0.0043200811319132086,
    0.041085446477813294,
    0.17564981840854255,
    0.33957681768639003,
    0.29777890303065313,
    0.14138196485040311,
]


@pytest.mark.reference
def test_pager_compat_reproduces_published_range_probabilities() -> None:
    deaths = range_probabilities(70511.0, 2.5, LossKind.FATALITIES, pager_compat=True)
    np.testing.assert_allclose(deaths, PAGER_PROBS_DEATHS, rtol=1e-10)
    usd = range_probabilities(6819.883892e6, 2.5, LossKind.ECONOMIC_USD, pager_compat=True)
    np.testing.assert_allclose(usd, PAGER_PROBS_USD, rtol=1e-10)


@pytest.mark.reference
@pytest.mark.parametrize(("expected", "zeta"), [(70511.0, 2.5), (3.2, 1.0), (450.0, 2.013134), (0.2, 1.7)])
def test_range_probabilities_match_lognormal_oracle(expected: float, zeta: float) -> None:
    edges = [0.0, 1.0, 10.0, 100.0, 1000.0, 1e4, 1e5, math.inf]

    def cdf(x: float) -> float:
        if x == 0.0:
            return 0.0
        if math.isinf(x):
            return 1.0
        return phi(math.log(x / expected) / zeta)

    want = [cdf(b) - cdf(a) for a, b in zip(edges[:-1], edges[1:])]
    got = range_probabilities(expected, zeta, LossKind.FATALITIES)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    assert sum(got) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.reference
def test_alert_probabilities_at_thresholds() -> None:
    e, z = 250.0, 1.5
    p = alert_probabilities(e, z, LossKind.FATALITIES)
    green = phi(math.log(1.0 / e) / z)
    yellow = phi(math.log(100.0 / e) / z) - green
    orange = phi(math.log(1000.0 / e) / z) - green - yellow
    assert (p.green, p.yellow, p.orange) == pytest.approx((green, yellow, orange), rel=1e-9)
    assert p.red == pytest.approx(1.0 - phi(math.log(1000.0 / e) / z), rel=1e-9)
    assert p.most_likely is AlertLevel.ORANGE
    assert p[AlertLevel.RED] == p.red
    usd = alert_probabilities(5e8, 1.0, LossKind.ECONOMIC_USD)
    assert usd.orange == pytest.approx(phi(math.log(2.0)) - phi(math.log(0.2)), rel=1e-9)


@pytest.mark.reference
def test_compat_alert_probabilities_sum_pager_ranges() -> None:
    p = alert_probabilities(70511.0, 2.5, LossKind.FATALITIES, pager_compat=True)
    assert p.green == pytest.approx(PAGER_PROBS_DEATHS[0], rel=1e-10)
    assert p.yellow == pytest.approx(PAGER_PROBS_DEATHS[1] + PAGER_PROBS_DEATHS[2], rel=1e-10)
    assert p.orange == pytest.approx(PAGER_PROBS_DEATHS[3], rel=1e-10)
    assert p.red == pytest.approx(sum(PAGER_PROBS_DEATHS[4:]), rel=1e-10)


def test_zero_expected_loss_is_green_for_sure_unless_compat() -> None:
    p = alert_probabilities(0.0, 2.0, LossKind.FATALITIES)
    assert (p.green, p.yellow, p.orange, p.red) == (1.0, 0.0, 0.0, 0.0)
    # losspager moves E = 0 to 0.5 and caps G at 1.7613: P(L < 1) = Phi(ln(1.00001/0.5)/1.7613)
    compat = alert_probabilities(0.0, 2.0, LossKind.FATALITIES, pager_compat=True)
    assert compat.green == pytest.approx(phi(math.log(1.00001 / 0.5) / 1.7613) - phi(math.log(1e-5 / 0.5) / 1.7613))


@pytest.mark.reference
def test_combined_zeta() -> None:
    co, ec = fatality_model("CO").zeta, fatality_model("EC").zeta
    # both countries have losses: sqrt(2.298419^2 + 1.482544^2) = 2.735 -> capped at 2.5 (emploss_test)
    assert combined_zeta([co, ec], [1.0, 801.0]) == 2.5
    # a country whose loss truncates to 0 is not counted (losspager passes int losses)
    assert combined_zeta([co, ec], [0.238, 801.0]) == ec
    assert combined_zeta([1.0, 1.5], [0.0, 0.0]) == pytest.approx(math.sqrt(1.0 + 2.25))
    with pytest.raises(ValueError, match=r"zetas and losses must be non-empty and of equal length"):
        combined_zeta([1.0], [1.0, 2.0])


# --------------------------------------------------------------------------- #
# one event
# --------------------------------------------------------------------------- #


def test_estimate_sums_countries_and_combines_alerts() -> None:
    cn = [0, 0, 0, 0, 2e6, 1e6, 5e5, 2e5, 5e4, 0]
    np_ = [0, 0, 0, 0, 1e6, 5e5, 1e5, 0, 0, 0]
    est = estimate({"CN": cn, "np": np_}, gdp_per_capita_usd={"CN": 12000.0, "NP": 1200.0})
    d_cn = expected_fatalities(cn, fatality_model("CN"))
    d_np = expected_fatalities(np_, fatality_model("NP"))
    assert dict(est.fatalities_by_country) == {"CN": d_cn, "NP": d_np}
    assert est.fatalities == pytest.approx(d_cn + d_np, rel=1e-15)
    assert est.fatality_alert is alert_level(d_cn + d_np, LossKind.FATALITIES)
    assert est.economic_loss_usd is not None and est.economic_alert is not None
    assert est.economic_loss_usd == pytest.approx(
        expected_economic_loss(cn, economic_model("CN"), 12000.0)
        + expected_economic_loss(np_, economic_model("NP"), 1200.0),
        rel=1e-15,
    )
    assert est.overall_alert is overall_alert(est.fatality_alert, est.economic_alert)
    assert est.provenance["fatality.CN"].startswith("usgs/pager")


def test_estimate_without_gdp_has_no_economic_part() -> None:
    est = estimate({"CN": [0, 0, 0, 0, 1e5, 0, 0, 0, 0, 0]})
    assert est.economic_loss_usd is None and est.economic_probabilities is None
    assert est.overall_alert is est.fatality_alert


def test_estimate_requires_gdp_of_every_country() -> None:
    with pytest.raises(ValueError, match=r"gdp_per_capita_usd must give country NP"):
        estimate({"CN": [0] * 10, "NP": [0] * 10}, gdp_per_capita_usd={"CN": 1.0})
    with pytest.raises(ValueError, match=r"exposure names country CN twice"):
        estimate({"CN": [0] * 10, "cn": [0] * 10})


# --------------------------------------------------------------------------- #
# custom tables
# --------------------------------------------------------------------------- #


def test_custom_table_loads_and_rejects_duplicates(tmp_path: Path) -> None:
    good = tmp_path / "fat.csv"
    good.write_text("# comment\nccode,theta,beta,zeta,status,source\nCN,10.0,0.1,2.0,InCountry,mine\n")
    models = load_fatality_models(good)
    assert models["CN"] == FatalityModel("CN", 10.0, 0.1, 2.0, "InCountry", "mine")
    dup = tmp_path / "dup.csv"
    dup.write_text("ccode,theta,beta,zeta,status,source\nCN,10,0.1,2,a,b\nCN,11,0.1,2,a,b\n")
    with pytest.raises(ValueError, match=r"dup.csv line 3: duplicate ccode CN"):
        load_fatality_models(dup)
    bad = tmp_path / "bad.csv"
    bad.write_text("ccode,theta,beta,alpha,zeta,status,source\nCN,10,0,1,2,a,b\n")
    with pytest.raises(ValueError, match=r"bad.csv line 2: beta must be finite and > 0"):
        load_economic_models(bad)
    with pytest.raises(ValueError, match=r"columns must be"):
        load_fatality_models(bad)


def test_models_are_frozen_and_thresholds_fixed() -> None:
    m = EconomicModel("cn", 7.5, 0.1, 9.8, 2.5)
    assert m.ccode == "CN"
    with pytest.raises(AttributeError):
        m.theta = 1.0  # type: ignore[misc]
    assert ALERT_THRESHOLDS[LossKind.ECONOMIC_USD] == (1e6, 1e8, 1e9)
