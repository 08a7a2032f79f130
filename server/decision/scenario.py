"""A scenario or an event -> ground motion -> damage -> casualties, loss, alert, response level.

The pipeline behind ``quakewatch loss --scenario`` and ``DecisionService.EstimateLoss``:

1. the rupture (:class:`quakewatch.ext.rupture.Rupture`) gives distances to every
   exposure site (assets sharing coordinates share a site);
2. a published GMPE (BSSA14) gives the median and the between- and
   within-event standard deviations of each IMT the models need
   (:mod:`quakewatch.ext.gmpe`); observed station values, when given,
   condition them (:mod:`quakewatch.ext.gmfield`, Worden et al. 2018);
3. spatially correlated realisations (Jayaram & Baker 2009) are drawn in
   blocks (bounded memory), each block goes through
   :func:`quakewatch.ext.loss.scenario_damage` / ``scenario_losses``; means
   are combined over blocks and per-realisation totals are kept, so every
   total comes with its spread (5 / 50 / 95 %);
4. casualties by time of day: consequence tables (fatalities, injured,
   homeless) or Hazus indoor casualty rates by building type (severity 1-4,
   complete damage split by the collapse rate) applied to the occupants at
   ``time_of_day``;
5. PAGER: the alert from our fatality and economic estimates, and the
   empirical fatality model (Jaiswal & Wald 2010) on the median MMI
   (Worden et al. 2012 from PGV) as a regional cross-check;
6. the response level from the versioned rule table (2012 plan default),
   relief needs of the displaced from the Sphere norms.

Every estimate records its provenance: scenario, models, seeds, code version.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from quakewatch.ext import gmpe, pager
from quakewatch.ext.consequence import hazus_casualty_rates
from quakewatch.ext.gmfield import iter_fields
from quakewatch.ext.gmfield_conditioning import condition_on_stations
from quakewatch.ext.loss import Consequence, scenario_damage, scenario_losses
from quakewatch.ext.intensity_attenuation import predict_intensity
from quakewatch.ext.motion import mmi_worden2012
from quakewatch.ext.rupture import Rupture, site_distances

from .estimate import LossEstimate, summarise
from .monitored import merge_exposures, monitored_section, read_monitored
from .observations import Observations
from .nrml import (
    Exposure,
    InputFileError,
    consequence_scale,
    read_consequences,
    read_exposure,
    read_fragility_model,
    read_taxonomy_mapping,
    read_vulnerability_model,
)
from .openquake_job import asset_mapping, associate
from .relief import relief_needs
from .response_level import evaluate, load_rule_table
from .scenario_spec import ScenarioSpec, load_scenario

__all__ = ["run_scenario", "run_scenario_file"]

FloatArray = npt.NDArray[np.float64]
#: values per block of realisations (sites x realisations), bounds the working memory
BLOCK_VALUES = 4_000_000
SEVERITIES = ("severity_1", "severity_2", "severity_3", "severity_4")


@dataclass(frozen=True)
class _Sites:
    lon: FloatArray
    lat: FloatArray
    of_asset: npt.NDArray[np.int64]


def _sites(exp: Exposure) -> _Sites:
    coords = np.round(np.column_stack((exp.lon, exp.lat)), 5)
    unique, inverse = np.unique(coords, axis=0, return_inverse=True)
    return _Sites(unique[:, 0].astype(np.float64), unique[:, 1].astype(np.float64),
                  inverse.reshape(-1).astype(np.int64))


def _vs30(spec: ScenarioSpec, base: Path, sites: _Sites) -> FloatArray:
    gm = spec.ground_motion
    if gm.site_model is None:
        return np.full(sites.lon.size, gm.vs30_mps)
    import pandas as pd

    path = base / gm.site_model
    try:
        df = pd.read_csv(path, comment="#")
        lon, lat, vs30 = (df[c].to_numpy(np.float64) for c in ("lon", "lat", "vs30"))
    except (OSError, KeyError, ValueError) as exc:
        raise InputFileError(f"{path}: a site model needs lon, lat and vs30 columns ({exc})") from exc
    if not np.all(np.isfinite(vs30)) or (vs30 <= 0).any():
        raise InputFileError(f"{path}: vs30 must be finite and > 0")
    nearest, _ = associate(sites.lon, sites.lat, lon, lat, np.inf)
    return vs30[nearest]


def _hazus_consequences(risk_ids: list[str], n_states: int, occupants: FloatArray,
                        number: FloatArray) -> list[Consequence]:
    """Hazus severity 1-4 rates and collapse rate as consequences of each risk id."""
    table = hazus_casualty_rates()
    if n_states != 4:
        raise InputFileError(f"casualty_model hazus needs 4 damage states (slight .. complete), got {n_states}")
    missing = [r for r in risk_ids if r not in table.building_types]
    if missing:
        raise InputFileError(f"casualty_model hazus needs risk ids that are Hazus building types "
                             f"(W1, C1L, URML...), got {missing}; give consequences with fatalities "
                             "or set casualty_model: none")
    idx = [table.building_types.index(r) for r in risk_ids]
    rates = table.rates[idx]  # (n_fn, 5 rows: slight, moderate, extensive, complete-no-collapse, collapse, 4)
    c = table.collapse_fraction[idx][:, np.newaxis, np.newaxis]
    per_state = np.concatenate((rates[:, :3, :], (1 - c) * rates[:, 3:4, :] + c * rates[:, 4:5, :]), axis=1)
    out = [Consequence(name, per_state[:, :, s], occupants) for s, name in enumerate(SEVERITIES)]
    collapse = np.zeros((len(risk_ids), 4))
    collapse[:, 3] = c[:, 0, 0]
    out.append(Consequence("collapsed", collapse, number))
    return out


def _standard_fields(spec: ScenarioSpec, imt: str, sites: _Sites, pred: gmpe.GroundMotionPrediction,
                     seed: np.random.SeedSequence, block: int) -> Iterator[FloatArray]:
    gm = spec.ground_motion
    if gm.correlated:
        return iter_fields(sites.lon, sites.lat, pred.ln_mean, pred.tau, pred.phi, imt, gm.realisations,
                           seed=seed, truncation_level=gm.truncation_level, block_realisations=block,
                           workers=2)

    def independent() -> Iterator[FloatArray]:
        rng = np.random.default_rng(seed)
        for start in range(0, gm.realisations, block):
            k = min(block, gm.realisations - start)
            eta, eps = rng.standard_normal((k, 1)), rng.standard_normal((k, sites.lon.size))
            yield pred.ln_mean + pred.tau * eta + pred.phi * eps
    return independent()


def _stations_file(spec: ScenarioSpec, base: Path) -> Observations:
    """The scenario's stations file: ``lon, lat, imt, value`` (g for PGA and SA, cm/s for
    PGV) and optionally ``sigma`` (ln units, measurement and site noise)."""
    import pandas as pd

    path = base / str(spec.ground_motion.stations)
    try:
        df = pd.read_csv(path, comment="#")
        lon, lat, value = (df[c].to_numpy(np.float64) for c in ("lon", "lat", "value"))
        imt_col = df["imt"].astype(str).to_numpy()
    except (OSError, KeyError, ValueError) as exc:
        raise InputFileError(f"{path}: stations need lon, lat, imt and value columns ({exc})") from exc
    sigma = df["sigma"].to_numpy(np.float64) if "sigma" in df else np.zeros(lon.size)
    return Observations(lon, lat, imt_col, value, sigma, tuple([str(path.name)] * lon.size))


def _conditioned(spec: ScenarioSpec, base: Path, rupture: Rupture, sites: _Sites,
                 predictions: dict[str, gmpe.GroundMotionPrediction], obs: Observations) -> dict[str, Any]:
    """Fields conditioned on observed station values, by IMT (Worden et al. 2018)."""
    gm = spec.ground_motion
    lon, lat, imt_col, value, sigma = obs.lon, obs.lat, obs.imt, obs.value, obs.sigma
    where = "stations"
    if not (np.all(np.isfinite(value)) and (value > 0).all()):
        raise InputFileError(f"{where}: value must be finite and > 0 (g, or cm/s for PGV)")
    if not (np.all(np.isfinite(sigma)) and (sigma >= 0).all()):
        raise InputFileError(f"{where}: sigma must be finite and >= 0")
    used = np.isin(imt_col, list(predictions))
    unknown = sorted(set(imt_col[~used]))
    if unknown and spec.ground_motion.stations:
        raise InputFileError(f"{where}: imt {unknown} is not used by the scenario's models "
                             f"(used: {sorted(predictions)})")
    lon, lat, imt_col, value, sigma = lon[used], lat[used], imt_col[used], value[used], sigma[used]
    out = {}
    station_sites = _Sites(lon, lat, np.arange(lon.size))
    vs30 = _vs30(spec, base, station_sites)
    for imt in sorted(set(imt_col)):
        sel = imt_col == imt
        st = gmpe.predict(gm.model, imt, rupture, site_distances(rupture, lon[sel], lat[sel]), vs30[sel])
        p = predictions[imt]
        out[imt] = condition_on_stations(
            lon[sel], lat[sel], np.log(value[sel]), st.ln_mean, st.tau, st.phi,
            sites.lon, sites.lat, p.ln_mean, p.tau, p.phi, imt, obs_sigma=sigma[sel])
    return out


def _models(spec: ScenarioSpec, base: Path, exp: Exposure) -> dict[str, Any]:
    fragility = read_fragility_model(base / spec.fragility) if spec.fragility else None
    vulnerability = {lt: read_vulnerability_model(base / p) for lt, p in spec.vulnerability.items()}
    if fragility is None and not vulnerability:
        raise InputFileError("the scenario needs a fragility model or a vulnerability model")
    mapping = read_taxonomy_mapping(base / spec.taxonomy_mapping if spec.taxonomy_mapping else None,
                                    set(exp.taxonomy.tolist()))
    consequences = (read_consequences([base / c for c in spec.consequences], fragility.limit_states)
                    if spec.consequences and fragility is not None else None)
    return {"fragility": fragility, "vulnerability": vulnerability, "mapping": mapping,
            "consequences": consequences}


def _occupants(exp: Exposure, time_of_day: str) -> FloatArray:
    if time_of_day in exp.occupants:
        return exp.occupants[time_of_day]
    if exp.residents is not None:
        return exp.residents
    raise InputFileError(f"{exp.source}: no occupants for time_of_day {time_of_day!r} and no residents")


def run_scenario(spec: ScenarioSpec, base: Path, *, threads: int = 2, observed: Observations | None = None,
                 locations: Mapping[str, tuple[float, float]] | None = None) -> tuple[LossEstimate, dict[str, Any]]:
    """Run a validated scenario; returns the estimate and the decision products.

    ``observed`` (e.g. the monitored structures' free-field records,
    :func:`.observations.observed_in_window`) conditions the ground motion
    together with the scenario's stations file. ``locations`` (registered structure id
    -> lon, lat) places the scenario's monitored structures (:mod:`.monitored`).
    """
    t0 = time.perf_counter()
    exp = read_exposure(base / spec.exposure)
    if spec.monitored:
        exp = merge_exposures(exp, read_monitored(base / spec.monitored, exp, locations))
    models = _models(spec, base, exp)
    sites = _sites(exp)
    r = spec.rupture
    rupture = Rupture(lon=r.lon, lat=r.lat, depth_km=r.depth_km, mw=r.mw, strike_deg=r.strike_deg,
                      dip_deg=r.dip_deg, rake_deg=r.rake_deg, length_km=r.length_km, width_km=r.width_km)
    distances = site_distances(rupture, sites.lon, sites.lat)
    vs30 = _vs30(spec, base, sites)
    gm = spec.ground_motion
    fragility = models["fragility"]
    risk_ids_f = sorted(fragility.functions) if fragility else []
    imts = sorted({f.imt for f in (fragility.functions.values() if fragility else [])}
                  | {v.imt for m in models["vulnerability"].values() for v in m.functions.values()})
    predictions = {imt: gmpe.predict(gm.model, imt, rupture, distances, vs30) for imt in (*imts, "PGV")}
    parts = [o for o in (_stations_file(spec, base) if gm.stations else None, observed) if o is not None and len(o)]
    obs = Observations(
        lon=np.concatenate([o.lon for o in parts]), lat=np.concatenate([o.lat for o in parts]),
        imt=np.concatenate([o.imt for o in parts]), value=np.concatenate([o.value for o in parts]),
        sigma=np.concatenate([o.sigma for o in parts]), source=tuple(x for o in parts for x in o.source),
    ) if parts else None
    conditioned = _conditioned(spec, base, rupture, sites, predictions, obs) if obs is not None else {}
    occupants = _occupants(exp, spec.time_of_day)

    # damage and consequences, block by block of realisations
    consequences: list[Consequence] = []
    if fragility is not None:
        table = models["consequences"]
        if table is not None:
            for name in table.names:
                rows = [table.ratios.get((name, "structural", rid)) for rid in risk_ids_f]
                if any(x is not None for x in rows):
                    ratios = np.array([x if x is not None else np.zeros(len(fragility.limit_states)) for x in rows])
                    kind = consequence_scale(name)
                    scale = {"value": exp.values.get("structural"), "occupants": occupants,
                             "residents": exp.residents, "number": exp.number}[kind]
                    if scale is None:
                        raise InputFileError(f"{exp.source}: consequence {name!r} needs the exposure's {kind}")
                    consequences.append(Consequence(name, ratios, scale))
        if spec.casualty_model == "hazus" and not any(c.name == "fatalities" for c in consequences):
            consequences += [c for c in _hazus_consequences(risk_ids_f, len(fragility.limit_states), occupants,
                                                            exp.number)
                             if c.name not in {x.name for x in consequences}]
    block = max(1, BLOCK_VALUES // max(sites.lon.size, 1))
    seeds = np.random.SeedSequence(gm.seed).spawn(len(imts))
    streams = {imt: (conditioned[imt].iter_samples(gm.realisations, seed=s, block_realisations=block, workers=2)
                     if imt in conditioned else _standard_fields(spec, imt, sites, predictions[imt], s, block))
               for imt, s in zip(imts, seeds)}
    sums: dict[str, Any] = {}
    totals: dict[str, list[FloatArray]] = {}
    n_done = 0
    where = str(base)
    classes = exp.taxonomy_classes
    damage_map = asset_mapping(classes, sites.of_asset, models["mapping"], risk_ids_f, where) if fragility else None
    vuln_maps = {lt: (sorted(m.functions), asset_mapping(classes, sites.of_asset, models["mapping"], sorted(m.functions),
                                                         where))
                 for lt, m in models["vulnerability"].items()}
    while n_done < gm.realisations:
        gmf = {imt: np.exp(next(streams[imt])) for imt in imts}
        k = next(iter(gmf.values())).shape[0]
        if fragility is not None and damage_map is not None:
            res = scenario_damage([fragility.functions[x] for x in risk_ids_f], damage_map, exp.number, gmf,
                                  consequences, threads=threads)
            sums["damage"] = sums.get("damage", 0) + res.fractions * k
            for name, values in res.consequences.items():
                sums[name] = sums.get(name, 0) + values * k
            for name, values in res.event_totals.items():
                totals.setdefault(name, []).append(np.asarray(values))
        for lt, (ids, amap) in vuln_maps.items():
            value = occupants if lt == "occupants" else exp.values.get(lt)
            if value is None:
                raise InputFileError(f"{exp.source}: no {lt!r} value for the vulnerability model")
            loss = scenario_losses([models["vulnerability"][lt].functions[x] for x in ids], amap, value, gmf,
                                   threads=threads)
            sums[f"vuln:{lt}"] = sums.get(f"vuln:{lt}", 0) + loss.losses * k
            totals.setdefault(f"vuln:{lt}", []).append(np.asarray(loss.event_totals))
        n_done += k
    mean = {key: value / n_done for key, value in sums.items()}
    event_totals = {key: np.concatenate(parts) for key, parts in totals.items()}
    median_pgv = conditioned["PGV"].mean if "PGV" in conditioned else predictions["PGV"].ln_mean
    est, extra = _assemble(spec, base, exp, sites, occupants, fragility, mean, event_totals, median_pgv,
                           predictions["PGV"], rupture, n_done, t0)
    if spec.monitored:
        # the structures' own records: sources of the observed records are "structure_id/event_id"
        recorded = ({} if observed is None else {(src.split("/")[0], str(imt)): float(v)
                                                 for src, imt, v in zip(observed.source, observed.imt, observed.value, strict=True)})
        extra["monitored"] = monitored_section(est, observed_values=recorded)
    if conditioned:
        assert obs is not None
        est.provenance["stations"] = {"sources": sorted(set(obs.source)), "n_observations": len(obs), **{
            imt: {"event_term": float(c.event_term), "event_term_std": float(c.event_term_std)}
            for imt, c in conditioned.items()}}
        extra["ground_motion"] = {"conditioned_on": sorted(conditioned), "method": "Worden et al. (2018)",
                                  "observations": len(obs)}
    return est, extra


def _assemble(spec: ScenarioSpec, base: Path, exp: Exposure, sites: _Sites, occupants: FloatArray,
              fragility: Any, mean: dict[str, Any],
              event_totals: dict[str, FloatArray], ln_pgv_cms: FloatArray, pgv: gmpe.GroundMotionPrediction,
              rupture: Rupture, n: int, t0: float) -> tuple[LossEstimate, dict[str, Any]]:
    states: tuple[str, ...] = ("no_damage", *(fragility.limit_states if fragility else ()))
    damage = {"structural": mean["damage"]} if "damage" in mean else {}
    losses: dict[str, FloatArray] = {}
    casualties: dict[str, FloatArray] = {}
    other: dict[str, FloatArray] = {}
    totals = {}
    for k, s in enumerate(states if damage else ()):
        totals[f"structural:{s}"] = summarise(event_totals[f"buildings:{k}"])
    for key, values in mean.items():
        if key == "damage":
            continue
        if key.startswith("vuln:"):
            lt = key[5:]
            (casualties if lt == "occupants" else losses)[lt] = values
            totals[f"losses:{lt}"] = summarise(event_totals[key])
            continue
        scale = consequence_scale(key)
        if scale == "value":
            losses["structural"] = values
        elif scale in ("occupants", "residents"):
            casualties[key] = values
        else:
            other[key] = values
        totals[f"{key}:structural"] = summarise(event_totals[key])

    # decision products
    deaths = float(casualties["fatalities"].sum()) if "fatalities" in casualties else (
        float(casualties["severity_4"].sum()) if "severity_4" in casualties else None)
    economic = float(losses["structural"].sum()) if "structural" in losses else None
    if spec.pager.intensity_model == "worden2012_pgv":
        mmi = mmi_worden2012(np.exp(ln_pgv_cms[sites.of_asset]) / 100.0, "pgv_mps")
        intensity_source = "MMI from the median PGV (Worden et al. 2012)"
    else:
        site_i = predict_intensity(spec.pager.intensity_model, rupture, sites.lon, sites.lat).mean
        mmi = np.clip(site_i[sites.of_asset], 1.0, 10.0)  # the MMI range of PAGER
        intensity_source = f"intensity attenuation {spec.pager.intensity_model} (Yu et al. 2013)"
    model = pager.fatality_model(spec.pager.country)
    empirical = pager.expected_fatalities(pager.exposure_by_mmi(mmi, occupants), model)
    alerts = {}
    if deaths is not None:
        alerts["fatalities"] = pager.alert_level(deaths, pager.LossKind.FATALITIES).value
    if economic is not None and spec.pager.usd_per_unit is not None:
        alerts["economic"] = pager.alert_level(economic * spec.pager.usd_per_unit, pager.LossKind.ECONOMIC_USD).value
    levels = [pager.AlertLevel(v) for v in alerts.values()]
    pager_doc = {
        "alert": pager.overall_alert(*levels).value if levels else None, "alerts": alerts,
        "empirical_fatalities": empirical,
        "empirical_alert": pager.alert_level(empirical, pager.LossKind.FATALITIES).value,
        "country": spec.pager.country, "model": f"Jaiswal & Wald (2010) empirical; {intensity_source}",
    }
    table = load_rule_table(base / spec.response.rule_table if spec.response.rule_table else None)
    rs = spec.response
    decision = evaluate(
        table, deaths=deaths if deaths is not None else empirical,
        direct_loss=economic if (economic is not None and rs.gdp_previous_year) else None,
        gdp_previous_year=rs.gdp_previous_year if (economic is not None and rs.gdp_previous_year) else None,
        magnitude=rupture.mw if rs.population_class else None, population_class=rs.population_class)
    response = {
        "level": decision.level.value if decision.level else None, "basis": decision.basis,
        "initial_judgement": decision.initial_judgement.value if decision.initial_judgement else None,
        "reasons": [{"criterion": x.criterion, "value": x.value, "threshold": x.threshold,
                     "level": x.level.value if x.level else None} for x in decision.reasons],
        "rule_table": f"{decision.rule_table_id} v{decision.rule_table_version}",
    }
    displaced = float(casualties["homeless"].sum()) if "homeless" in casualties else 0.0
    needs = relief_needs(displaced, spec.relief.days, tent_floor_area_m2=spec.relief.tent_floor_area_m2)
    relief = {"displaced_people": displaced, "days": spec.relief.days,
              "items": {i.commodity: {"quantity": i.quantity, "unit": i.unit, "source": i.source}
                        for i in needs.items}}
    est = LossEstimate(
        asset_ids=exp.ids, lon=exp.lon, lat=exp.lat, taxonomy=exp.taxonomy, number=exp.number,
        damage_states=states, damage=damage, losses=losses, casualties=casualties, other=other,
        totals=totals, n_events=n,
        provenance={
            "method": "quakewatch-scenario", "name": spec.name, "rupture": spec.rupture.model_dump(),
            "gmpe": spec.ground_motion.model, "realisations": n, "seed": spec.ground_motion.seed,
            "correlation": "Jayaram & Baker (2009)" if spec.ground_motion.correlated else "none",
            "truncation_level": spec.ground_motion.truncation_level, "time_of_day": spec.time_of_day,
            "exposure": exp.source, "fragility": fragility.source if fragility else None,
            "casualty_model": spec.casualty_model, "gmpe_version": pgv.algorithm_version,
            "seconds": time.perf_counter() - t0,
        },
    )
    # what a plan's level criteria read (``quakewatch respond --estimate``)
    situation = {
        "origin_time": spec.origin_time.isoformat() if spec.origin_time else None,
        "deaths": deaths if deaths is not None else empirical, "direct_loss": economic,
        "gdp_previous_year": rs.gdp_previous_year, "magnitude": rupture.mw,
        "population_class": rs.population_class, "intensity": float(mmi.max()) if mmi.size else None,
    }
    extra = {"pager": pager_doc, "response_level": response, "relief": relief, "situation": situation,
             "scenario": {"name": spec.name, "rupture": spec.rupture.model_dump(), "time_of_day": spec.time_of_day}}
    return est, extra


def run_scenario_file(path: str | Path, *, threads: int = 2) -> tuple[LossEstimate, dict[str, Any]]:
    """Load a scenario file and run it (``quakewatch loss --scenario``)."""
    spec, base = load_scenario(path)
    est, extra = run_scenario(spec, base, threads=threads)
    est.provenance["scenario_file"] = str(Path(path).resolve())
    return est, extra
