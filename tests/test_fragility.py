"""Tests for quakewatch.ext.fragility.

Expected values come from closed-form results (lognormal moments, Phi at the
median and at one beta, the analytic mean of a lognormal fragility over a
lognormal IM) and from hand-computed interpolation/differences; none are
copied from this module's own output.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import warnings

import numpy as np
import pytest

from quakewatch.ext.fragility import (
    DiscreteFragility,
    LognormalFragility,
    damage_fractions,
    mean_damage_fractions,
)

PHI_1 = 0.8413447460685429  # standard normal CDF at 1 (tables)


def phi(z: float) -> float:
    """Standard normal CDF from math.erf (independent of scipy.special.ndtr)."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@pytest.fixture
def lognormal() -> LognormalFragility:
    return LognormalFragility.from_median(
        [0.1, 0.25, 0.5, 1.0],
        [0.6, 0.6, 0.7, 0.7],
        imt="PGA",
        damage_states=["slight", "moderate", "extensive", "complete"],
    )


@pytest.fixture
def table() -> DiscreteFragility:
    return DiscreteFragility(
        imt="MMI",
        imls=np.array([7.0, 8.0, 10.0]),
        poe_table=np.array([[0.2, 0.6, 0.9], [0.0, 0.2, 0.5]]),
    )


# --------------------------------------------------------------------------- #
# lognormal: conversions and analytic values
# --------------------------------------------------------------------------- #


@pytest.mark.reference
@pytest.mark.parametrize(("m", "s"), [(0.3, 0.1), (1.2, 0.9), (0.05, 0.2), (7.5, 1.0)])
def test_from_moments_round_trip_lognormal_moments(m: float, s: float) -> None:
    f = LognormalFragility.from_moments([m], [s], imt="PGA")
    theta, beta = f.theta[0], f.beta[0]
    mean = theta * math.exp(beta**2 / 2.0)
    var = (math.exp(beta**2) - 1.0) * mean**2
    assert mean == pytest.approx(m, rel=1e-12)
    assert math.sqrt(var) == pytest.approx(s, rel=1e-12)


@pytest.mark.reference
def test_from_moments_matches_reference_formulas() -> None:
    m, s = np.array([0.2, 0.5]), np.array([0.1, 0.3])
    f = LognormalFragility.from_moments(m, s, imt="SA(0.3)")
    np.testing.assert_allclose(f.beta, np.sqrt(np.log(1.0 + (s / m) ** 2)), rtol=1e-14)
    np.testing.assert_allclose(f.theta, m**2 / np.sqrt(s**2 + m**2), rtol=1e-14)


@pytest.mark.reference
def test_phi_at_median_is_half_and_one_beta_above(lognormal: LognormalFragility) -> None:
    p = lognormal.poes(lognormal.theta)  # row k evaluated at theta_k
    np.testing.assert_allclose(np.diag(p), 0.5, rtol=0, atol=1e-15)
    p1 = lognormal.poes(lognormal.theta * np.exp(lognormal.beta))
    np.testing.assert_allclose(np.diag(p1), PHI_1, rtol=1e-12)


@pytest.mark.reference
def test_poes_match_erf_formula(lognormal: LognormalFragility) -> None:
    im = 0.37
    expected = [
        phi(math.log(im / t) / b) for t, b in zip(lognormal.theta, lognormal.beta)
    ]
    np.testing.assert_allclose(lognormal.poes(im), expected, rtol=1e-12)


@pytest.mark.reference
def test_min_max_iml_clipping() -> None:
    f = LognormalFragility.from_median([0.4], [0.5], imt="PGA", min_iml=0.1, max_iml=1.0)
    below = f.poes([0.01, 0.05, 0.1])[:, 0]
    np.testing.assert_allclose(below, phi(math.log(0.1 / 0.4) / 0.5), rtol=1e-12)
    above = f.poes([1.0, 2.0, 50.0])[:, 0]
    np.testing.assert_allclose(above, phi(math.log(1.0 / 0.4) / 0.5), rtol=1e-12)


@pytest.mark.reference
def test_no_damage_limit_at_or_below_is_zero() -> None:
    f = LognormalFragility.from_median(
        [0.3, 0.6], [0.5, 0.5], imt="PGA", min_iml=0.05, no_damage_limit=0.05
    )
    p = f.poes([0.01, 0.05, 0.050001])
    np.testing.assert_array_equal(p[:2], 0.0)
    assert p[2, 0] == pytest.approx(phi(math.log(0.050001 / 0.3) / 0.5), rel=1e-12)
    assert p[2, 0] > 0.0


@pytest.mark.reference
def test_no_damage_limit_applies_to_raw_im_below_min_iml() -> None:
    # documented deviation from OpenQuake: raw IM, not clipped IM, is compared
    f = LognormalFragility.from_median(
        [0.3], [0.5], imt="PGA", min_iml=0.1, no_damage_limit=0.02
    )
    assert f.poes(0.02)[0] == 0.0
    assert f.poes(0.03)[0] == pytest.approx(phi(math.log(0.1 / 0.3) / 0.5), rel=1e-12)


@pytest.mark.reference
def test_zero_im_gives_zero_without_warnings() -> None:
    f = LognormalFragility.from_median([0.3], [0.5], imt="PGA", min_iml=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = f.poes(np.array([0.0, 0.0]))
    np.testing.assert_array_equal(p, 0.0)


def test_nan_and_negative_im_raise(lognormal: LognormalFragility) -> None:
    with pytest.raises(ValueError, match="iml must not contain NaN"):
        lognormal.poes([0.1, np.nan])
    with pytest.raises(ValueError, match="iml must be >= 0"):
        lognormal.poes([-0.1])
    with pytest.raises(ValueError, match="iml must be finite"):
        lognormal.poes([np.inf])


def test_vectorised_shapes_and_dtype(lognormal: LognormalFragility) -> None:
    assert lognormal.poes(0.2).shape == (4,)
    im = np.linspace(0.0, 2.0, 12, dtype=np.float32).reshape(3, 4)
    p = lognormal.poes(im)
    assert p.shape == (3, 4, 4)
    assert p.dtype == np.float64
    np.testing.assert_allclose(p[1, 2], lognormal.poes(float(im[1, 2])), rtol=1e-6)


def test_inputs_not_mutated_and_read_only_inputs_accepted() -> None:
    theta = np.array([0.2, 0.4])
    beta = np.array([0.5, 0.6])
    f = LognormalFragility.from_median(theta, beta, imt="PGA", min_iml=0.1, max_iml=1.0)
    theta[0] = 99.0  # the fragility holds its own copy
    assert f.theta[0] == 0.2
    im = np.array([0.0, 0.05, 0.3, 5.0])
    im.setflags(write=False)
    before = im.copy()
    f.poes(im)
    np.testing.assert_array_equal(im, before)
    p = np.array([[0.3, 0.5]])
    p_before = p.copy()
    damage_fractions(p)
    np.testing.assert_array_equal(p, p_before)


def test_frozen(lognormal: LognormalFragility) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        lognormal.imt = "PGV"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        lognormal.theta[0] = 1.0
    assert lognormal.damage_states == ("slight", "moderate", "extensive", "complete")
    assert LognormalFragility.from_median([1.0], [0.5], imt="MMI").damage_states == ("DS1",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"theta": [0.0], "beta": [0.5]}, "theta must be > 0"),
        ({"theta": [0.2], "beta": [0.0]}, "beta must be > 0"),
        ({"theta": [0.2], "beta": [0.5, 0.5]}, r"beta must have the same length as theta \(1\)"),
        ({"theta": [np.nan], "beta": [0.5]}, "theta must be finite"),
        ({"theta": [], "beta": []}, "theta must be a non-empty 1-D"),
        ({"theta": [0.2], "beta": [0.5], "min_iml": 1.0, "max_iml": 0.5}, "min_iml must be < max_iml"),
        ({"theta": [0.2], "beta": [0.5], "min_iml": -1.0}, "min_iml must be finite and >= 0"),
        ({"theta": [0.2], "beta": [0.5], "no_damage_limit": np.nan}, "no_damage_limit must be finite"),
        ({"theta": [0.2], "beta": [0.5], "damage_states": ["a", "b"]}, r"damage_states must have one name per damage state \(1\)"),
        ({"theta": [0.2], "beta": [0.5], "imt": ""}, "imt must be a non-empty string"),
    ],
)
def test_lognormal_validation(kwargs: dict[str, object], message: str) -> None:
    args = {"imt": "PGA", **kwargs}
    with pytest.raises(ValueError, match=message):
        LognormalFragility.from_median(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mean", "stddev", "message"),
    [([0.0], [0.1], "mean must be > 0"), ([0.2], [0.0], "stddev must be > 0"),
     ([0.2], [0.1, 0.1], r"stddev must have the same length as mean \(1\)")],
)
def test_from_moments_validation(mean: list[float], stddev: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LognormalFragility.from_moments(mean, stddev, imt="PGA")


# --------------------------------------------------------------------------- #
# discrete
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_discrete_interpolation_midpoints_and_levels(table: DiscreteFragility) -> None:
    p = table.poes([7.0, 7.5, 8.0, 9.0, 10.0])
    expected = [[0.2, 0.0], [0.4, 0.1], [0.6, 0.2], [0.75, 0.35], [0.9, 0.5]]
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-15)


@pytest.mark.reference
def test_discrete_clamps_above_last_level(table: DiscreteFragility) -> None:
    np.testing.assert_allclose(table.poes([10.5, 12.0]), [[0.9, 0.5], [0.9, 0.5]], atol=1e-15)


@pytest.mark.reference
def test_discrete_below_first_level_without_limit_clamps(table: DiscreteFragility) -> None:
    np.testing.assert_allclose(table.poes([5.0, 6.9]), [[0.2, 0.0], [0.2, 0.0]], atol=1e-15)
    np.testing.assert_array_equal(table.poes(0.0), [0.0, 0.0])  # zero motion, no damage


@pytest.mark.reference
def test_discrete_no_damage_limit_ramp_from_zero() -> None:
    # OpenQuake FragilityFunctionList.build prepends (noDamageLimit, 0)
    t = DiscreteFragility(
        imt="MMI",
        imls=[7.0, 8.0],
        poe_table=[[0.2, 0.6], [0.1, 0.3]],
        no_damage_limit=5.0,
    )
    p = t.poes([4.0, 5.0, 6.0, 6.5, 7.0])
    expected = [[0.0, 0.0], [0.0, 0.0], [0.1, 0.05], [0.15, 0.075], [0.2, 0.1]]
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-15)


@pytest.mark.reference
def test_discrete_no_damage_limit_inside_table() -> None:
    t = DiscreteFragility(imt="MMI", imls=[6.0, 8.0], poe_table=[[0.2, 0.6]], no_damage_limit=7.0)
    p = t.poes([6.5, 7.0, 7.5])[:, 0]
    np.testing.assert_allclose(p, [0.0, 0.0, 0.5], atol=1e-15)


def test_discrete_shapes_and_no_mutation(table: DiscreteFragility) -> None:
    im = np.full((2, 3), 9.0)
    before = im.copy()
    p = table.poes(im)
    assert p.shape == (2, 3, 2) and p.dtype == np.float64
    np.testing.assert_array_equal(im, before)
    with pytest.raises(ValueError, match="iml must not contain NaN"):
        table.poes([np.nan])


@pytest.mark.parametrize(
    ("imls", "poe_table", "ndl", "message"),
    [
        ([7.0, 7.0], [[0.1, 0.2]], None, "imls must be strictly increasing"),
        ([-1.0, 1.0], [[0.1, 0.2]], None, "imls must be >= 0"),
        ([7.0, 8.0], [[0.1, 0.2, 0.3]], None, r"poe_table must have shape \(n_states, 2\)"),
        ([7.0, 8.0], [[0.1, 1.2]], None, r"poe_table values must be finite and within \[0, 1\]"),
        ([7.0, 8.0], [[0.1, 0.2]], -1.0, "no_damage_limit must be finite and >= 0"),
    ],
)
def test_discrete_validation(
    imls: list[float], poe_table: list[list[float]], ndl: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DiscreteFragility(imt="MMI", imls=imls, poe_table=poe_table, no_damage_limit=ndl)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# damage fractions
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_damage_fractions_hand_computed() -> None:
    f = damage_fractions([0.8, 0.5, 0.1])
    np.testing.assert_allclose(f, [0.2, 0.3, 0.4, 0.1], atol=1e-15)


@pytest.mark.reference
def test_damage_fractions_crossing_curves_clipped() -> None:
    f = damage_fractions([[0.3, 0.5], [0.2, 0.1]])
    np.testing.assert_allclose(f, [[0.7, 0.0, 0.3], [0.8, 0.1, 0.1]], atol=1e-15)


def test_damage_fractions_sum_to_one_and_non_negative(lognormal: LognormalFragility) -> None:
    crossing = LognormalFragility.from_median([0.2, 0.4], [0.3, 0.9], imt="PGA")
    im = np.geomspace(1e-3, 10.0, 200)
    raw = crossing.poes(im)
    assert (raw[:, 1] > raw[:, 0]).any()  # the curves do cross
    for frag in (lognormal, crossing):
        f = damage_fractions(frag.poes(im))
        assert f.shape == (200, frag.n_states + 1)
        assert (f >= 0.0).all()
        np.testing.assert_allclose(f.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("poes", "message"),
    [(0.5, "poes must have a last axis"), ([0.5, np.nan], "poes must not contain NaN"),
     ([1.5], r"poes must be within \[0, 1\]"), ([-0.1], r"poes must be within \[0, 1\]")],
)
def test_damage_fractions_validation(poes: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        damage_fractions(poes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# mean over ground-motion samples
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_mean_damage_fractions_analytic_lognormal_im() -> None:
    # IM ~ LN(ln mu, sigma): E[Phi(ln(IM/theta)/beta)] = Phi(ln(mu/theta)/sqrt(beta^2+sigma^2))
    from scipy.stats import norm

    mu, sigma = 0.3, 0.6
    frag = LognormalFragility.from_median([0.2, 0.5], [0.5, 0.5], imt="PGA")
    n = 20000
    u = (np.arange(n) + 0.5) / n  # stratified, deterministic "samples"
    samples = mu * np.exp(sigma * norm.ppf(u))
    got = mean_damage_fractions(frag, samples)
    s = math.sqrt(0.5**2 + sigma**2)
    p1, p2 = phi(math.log(mu / 0.2) / s), phi(math.log(mu / 0.5) / s)
    np.testing.assert_allclose(got, [1 - p1, p1 - p2, p2], atol=5e-4)


def test_mean_damage_fractions_axis_and_shape(table: DiscreteFragility) -> None:
    rng = np.random.default_rng(12345)
    samples = rng.uniform(6.0, 11.0, size=(5, 3, 40))
    last = mean_damage_fractions(table, samples)
    assert last.shape == (5, 3, 3)
    first = mean_damage_fractions(table, np.moveaxis(samples, -1, 0), axis=0)
    np.testing.assert_allclose(first, last, rtol=1e-14)
    one = mean_damage_fractions(table, samples[0, 0])
    np.testing.assert_allclose(one, damage_fractions(table.poes(samples[0, 0])).mean(axis=0))
    np.testing.assert_allclose(last.sum(axis=-1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match=r"axis must be in \[-3, 2\]"):
        mean_damage_fractions(table, samples, axis=3)
    with pytest.raises(ValueError, match="iml_samples must hold at least one sample"):
        mean_damage_fractions(table, np.empty((2, 0)))


# --------------------------------------------------------------------------- #
# peer library
# --------------------------------------------------------------------------- #


@pytest.mark.reference
@pytest.mark.skipif(
    importlib.util.find_spec("openquake") is None,
    reason="openquake (oq-engine) is not installed; peer comparison with "
    "openquake.risklib.scientific skipped",
)
def test_against_openquake_scientific() -> None:  # pragma: no cover - optional peer
    from openquake.risklib import scientific as oq

    im = np.array([0.02, 0.05, 0.1, 0.3, 0.8, 2.0])
    ours = LognormalFragility.from_moments(
        [0.2, 0.5], [0.1, 0.3], imt="PGA", min_iml=0.05, max_iml=1.0, no_damage_limit=0.05
    ).poes(im)
    ffs = [
        oq.FragilityFunctionContinuous("ds1", 0.2, 0.1, 0.05, 1.0, 0.05),
        oq.FragilityFunctionContinuous("ds2", 0.5, 0.3, 0.05, 1.0, 0.05),
    ]
    theirs = np.stack([ff(im.copy()) for ff in ffs], axis=-1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)
    frac = oq.scenario_damage(ffs, im.copy()).T
    np.testing.assert_allclose(damage_fractions(ours), frac, atol=1e-7)
