"""ext.loss: the vectorised damage and loss kernel against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quakewatch.ext.fragility import DiscreteFragility, LognormalFragility
from quakewatch.ext.loss import AssetMapping, Consequence, scenario_damage, scenario_losses
from quakewatch.ext.vulnerability import VulnerabilityFunction


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@pytest.fixture
def frags() -> list[LognormalFragility | DiscreteFragility]:
    return [
        LognormalFragility.from_median([0.2, 0.6], [0.5, 0.6], imt="PGA"),
        DiscreteFragility(imt="PGA", imls=np.array([0.1, 0.3, 0.9]), poe_table=np.array([[0.1, 0.5, 0.9], [0.0, 0.2, 0.6]])),
    ]


@pytest.mark.reference
def test_fractions_are_the_event_mean_of_the_closed_form(frags: list) -> None:
    gmf = {"PGA": np.array([[0.15, 0.5], [0.4, np.nan], [0.05, 1.2]])}  # 3 events x 2 sites, one missing
    mapping = AssetMapping(site_index=np.array([0, 1, 0]), functions=np.array([0, 0, 1]))
    res = scenario_damage(frags, mapping, np.array([10.0, 2.0, 5.0]), gmf)

    def lognormal(x: float) -> list[float]:
        p1, p2 = _phi(math.log(x / 0.2) / 0.5), _phi(math.log(x / 0.6) / 0.6)
        return [1 - p1, p1 - p2, p2]

    want0 = np.mean([lognormal(0.15), lognormal(0.4), lognormal(0.05)], axis=0)
    want1 = np.mean([lognormal(0.5), [1.0, 0.0, 0.0], lognormal(1.2)], axis=0)  # missing = undamaged
    p = [np.interp(x, [0.1, 0.3, 0.9], [0.1, 0.5, 0.9]) for x in (0.15, 0.4, 0.05)]
    q = [np.interp(x, [0.1, 0.3, 0.9], [0.0, 0.2, 0.6]) for x in (0.15, 0.4, 0.05)]
    want2 = np.mean([[1 - a, a - b, b] for a, b in zip(p, q)], axis=0)
    assert np.allclose(res.fractions, [want0, want1, want2], atol=1e-14)
    assert res.event_totals["buildings:2"][1] == pytest.approx(10 * lognormal(0.4)[2] + 5 * q[1], rel=1e-12)


def test_weights_threads_and_inputs(frags: list) -> None:
    rng = np.random.default_rng(3)
    gmf = {"PGA": rng.lognormal(-1.5, 0.8, (40, 30))}
    before = gmf["PGA"].copy()
    number = rng.integers(1, 9, 200).astype(float)
    sites = rng.integers(0, 30, 200)
    cls = rng.integers(0, 2, 200)
    mapping = AssetMapping(site_index=sites, functions=np.array([[0, -1], [0, 1]]),
                           weights=np.array([[1.0, 0.0], [0.3, 0.7]]), asset_class=cls)
    cons = [Consequence("losses", np.array([[0.1, 1.0], [0.2, 0.8]]), number * 1000)]
    one = scenario_damage(frags, mapping, number, gmf, cons, threads=1)
    two = scenario_damage(frags, mapping, number, gmf, cons, threads=2)
    assert np.array_equal(one.fractions, two.fractions)
    assert np.array_equal(one.event_totals["losses"], two.event_totals["losses"])
    assert np.array_equal(gmf["PGA"], before)
    # a mixed asset is the weighted mean of its two functions' damage
    pure0 = scenario_damage(frags, AssetMapping(site_index=sites, functions=np.zeros(200, dtype=np.int64)), number, gmf)
    pure1 = scenario_damage(frags, AssetMapping(site_index=sites, functions=np.ones(200, dtype=np.int64)), number, gmf)
    mixed = cls == 1
    assert np.allclose(one.fractions[mixed], 0.3 * pure0.fractions[mixed] + 0.7 * pure1.fractions[mixed], atol=1e-14)
    # consequences pair each function's ratios with its own damage (QuakeWatch convention)
    want = number * 1000 * (0.3 * pure0.fractions[:, 1:] @ [0.1, 1.0] + 0.7 * pure1.fractions[:, 1:] @ [0.2, 0.8])
    assert np.allclose(one.consequences["losses"][mixed], want[mixed], rtol=1e-12)
    assert one.event_totals["losses"].mean() == pytest.approx(one.consequences["losses"].sum(), rel=1e-12)


@pytest.mark.reference
def test_vulnerability_losses_interpolate_and_respect_the_minimum() -> None:
    vf = VulnerabilityFunction(id="T", imt="PGA", imls=np.array([0.1, 0.3, 0.7]),
                               mean_loss_ratios=np.array([0.02, 0.2, 0.6]))
    gmf = {"PGA": np.array([[0.05, 0.2, 1.0]])}
    mapping = AssetMapping(site_index=np.array([0, 1, 2]), functions=np.zeros(3, dtype=np.int64))
    value = np.array([1000.0, 1000.0, 1000.0])
    res = scenario_losses([vf], mapping, value, gmf)
    assert res.losses.tolist() == pytest.approx([0.0, 110.0, 600.0])  # below domain, midpoint, clamped
    res = scenario_losses([vf], mapping, value, gmf, minimum_loss=110.5)
    assert res.losses.tolist() == pytest.approx([0.0, 0.0, 600.0])  # a loss below the minimum counts as 0



@pytest.mark.parametrize("threads", [1, 2])
def test_losses_by_class_and_site_are_the_asset_by_asset_sums(threads: int) -> None:
    """Classes mixing weighted functions of two IMTs, shared sites, missing values: every
    asset's mean loss and every event's total as the definition spells them out."""
    rng = np.random.default_rng(4)
    functions = [VulnerabilityFunction(id=f"V{k}", imt=imt, imls=np.array([0.05, 0.2, 0.5, 1.2]),
                                       mean_loss_ratios=np.sort(rng.uniform(0, 1, 4)))
                 for k, imt in enumerate(["PGA", "PGA", "SA(0.3)"])]
    n_assets, n_sites, n_events = 400, 37, 9
    gmf = {imt: rng.lognormal(-1.5, 0.8, (n_events, n_sites)) for imt in ("PGA", "SA(0.3)")}
    gmf["PGA"][rng.uniform(size=gmf["PGA"].shape) < 0.1] = np.nan  # sites without a value
    classes = np.array([[0, -1, -1], [1, 2, -1], [0, 1, 2]])
    weights = np.array([[1.0, 0, 0], [0.6, 0.4, 0], [0.2, 0.3, 0.5]])
    asset_class, site = rng.integers(0, 3, n_assets), rng.integers(0, n_sites, n_assets)
    value = rng.uniform(1e5, 1e6, n_assets)
    mapping = AssetMapping(site_index=site, functions=classes, weights=weights, asset_class=asset_class)
    res = scenario_losses(functions, mapping, value, gmf, threads=threads)
    want = np.zeros((n_events, n_assets))
    for a in range(n_assets):
        for slot in range(3):
            f = classes[asset_class[a], slot]
            if f >= 0:
                x = gmf[functions[f].imt][:, site[a]]
                lr = np.where(np.isnan(x), 0.0, functions[f].mean_loss_ratio(np.nan_to_num(x)))
                want[:, a] += weights[asset_class[a], slot] * value[a] * lr
    np.testing.assert_allclose(res.losses, want.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(res.event_totals, want.sum(axis=1), rtol=1e-13)

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"site_index": np.array([0, -1]), "functions": np.array([0, 0])}, "site_index"),
    ({"site_index": np.array([0, 1]), "functions": np.array([[0, 1]]), "weights": np.array([[0.5, 0.6]]),
      "asset_class": np.array([0, 0])}, "sum to 1"),
    ({"site_index": np.array([0, 1]), "functions": np.array([0]), "asset_class": np.array([0, 1])}, "asset_class"),
])
def test_bad_mappings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AssetMapping(**kwargs)


def test_negative_ground_motion_is_refused(frags: list) -> None:
    mapping = AssetMapping(site_index=np.array([0]), functions=np.array([0]))
    with pytest.raises(ValueError, match=r"gmf\['PGA'\] values must be finite and >= 0"):
        scenario_damage(frags, mapping, np.ones(1), {"PGA": np.array([[-0.1]])})
