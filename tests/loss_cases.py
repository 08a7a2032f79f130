"""Synthetic OpenQuake scenario jobs, written as the engine's own input files.

Shared by ``tests/test_loss_openquake.py`` (small cases, engine as oracle) and
``benchmarks/loss.py`` (100,000 assets, engine side by side).  Each job
exercises the conventions that decide the numbers: unsorted inline sites or a
site CSV with ``custom_site_id``, two IMTs, events with missing site rows,
continuous fragilities with minIML/maxIML/noDamageLimit, discrete ones with a
no-damage limit below the first level, a taxonomy mapping with weights, cost
types per asset and per area, occupancy periods and ``time_event``,
consequences of every kind, vulnerability functions (LN and BT) for
structural losses and occupants, ``region`` and ``asset_hazard_distance``.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TAXONOMIES = ("RC-low", "RC-mid", "MUR", "W", "S")
STATES = ("slight", "moderate", "extensive", "complete")
LON0, LAT0 = 112.55, 37.85  # Taiyuan, Shanxi


@dataclass(frozen=True)
class CaseSpec:
    n_assets: int = 400
    n_sites: int = 30
    n_events: int = 25
    seed: int = 0
    mode: str = "scenario_damage"
    time_event: str = "night"
    site_file: bool = False
    plain_sites: bool = False  # a header-less lon,lat site file (the engine sorts it)
    contents: bool = False  # a second loss type: contents fragility and consequences
    missing_fraction: float = 0.05


def _write_sites(d: Path, spec: CaseSpec, lon: np.ndarray, lat: np.ndarray) -> dict[str, str]:
    if spec.plain_sites:
        (d / "sites.csv").write_text("".join(f"{x:.5f},{y:.5f}\n" for x, y in zip(lon, lat)))
        return {"sites_csv": "sites.csv"}
    if spec.site_file:
        ids = [f"s{i:05d}" for i in range(lon.size)]
        rows = "\n".join(f"{c},{x:.5f},{y:.5f}" for c, x, y in zip(ids, lon, lat))
        (d / "sites.csv").write_text("custom_site_id,lon,lat\n" + rows + "\n")
        return {"sites_csv": "sites.csv"}
    return {"sites": ", ".join(f"{x:.5f} {y:.5f}" for x, y in zip(lon, lat))}


def _engine_order(spec: CaseSpec, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Site index the engine gives each written site (inline sites are sorted)."""
    if spec.site_file and not spec.plain_sites:
        return np.arange(lon.size)
    order = np.lexsort((np.round(lat, 5), np.round(lon, 5)))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank


def _fragility_xml(rng: np.random.Generator, loss: str = "structural") -> str:
    funcs = []
    for i, taxo in enumerate(TAXONOMIES):
        if i % 2 == 0:
            medians = np.sort(rng.uniform(0.08, 1.2, len(STATES)))
            stds = rng.uniform(0.3, 0.7, len(STATES)) * medians
            imt = "PGA" if i != 4 else "SA(0.3)"
            lims = f'minIML="{0.02 * (i + 1):.3f}" maxIML="{2.5 - 0.2 * i:.2f}" noDamageLimit="{0.01 * i:.3f}"'
            params = "\n".join(f'<params ls="{s}" mean="{m:.6f}" stddev="{sd:.6f}"/>'
                               for s, m, sd in zip(STATES, medians, stds))
            funcs.append(f'<fragilityFunction id="{taxo}" format="continuous" shape="logncdf">'
                         f'<imls imt="{imt}" {lims}/>{params}</fragilityFunction>')
        else:
            levels = np.array([0.05, 0.1, 0.2, 0.4, 0.8, 1.5])
            cols = [np.sort(rng.uniform(0, 1, levels.size)) * (1 - 0.2 * k) for k in range(len(STATES))]
            poes = "\n".join(f'<poes ls="{s}">{" ".join(f"{p:.5f}" for p in c)}</poes>'
                             for s, c in zip(STATES, cols))
            funcs.append(f'<fragilityFunction id="{taxo}" format="discrete">'
                         f'<imls imt="PGA" noDamageLimit="0.03">{" ".join(map(str, levels))}</imls>'
                         f'{poes}</fragilityFunction>')
    return ('<?xml version="1.0" encoding="utf-8"?>\n<nrml xmlns="http://openquake.org/xmlns/nrml/0.5">'
            f'<fragilityModel id="synthetic-{loss}" assetCategory="buildings" lossCategory="{loss}">'
            f'<description>synthetic</description><limitStates>{" ".join(STATES)}</limitStates>'
            + "".join(funcs) + "</fragilityModel></nrml>\n")


def _vulnerability_xml(rng: np.random.Generator, loss: str) -> str:
    funcs = []
    levels = np.array([0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 1.6])
    for i, taxo in enumerate(TAXONOMIES):
        scale = 1.0 if loss == "structural" else 0.05
        mean = np.sort(rng.uniform(0.001, 0.8, levels.size)) * scale
        covs = rng.uniform(0.1, 0.5, levels.size)
        dist = "LN" if i % 2 == 0 else "BT"
        if dist == "BT":
            covs = np.minimum(covs, 0.9 * np.sqrt(1 / mean - 1))
        imt = "PGA" if i != 4 else "SA(0.3)"
        funcs.append(f'<vulnerabilityFunction id="{taxo}" dist="{dist}"><imls imt="{imt}">'
                     f'{" ".join(map(str, levels))}</imls>'
                     f'<meanLRs>{" ".join(f"{m:.6f}" for m in mean)}</meanLRs>'
                     f'<covLRs>{" ".join(f"{c:.4f}" for c in covs)}</covLRs></vulnerabilityFunction>')
    return ('<?xml version="1.0" encoding="utf-8"?>\n<nrml xmlns="http://openquake.org/xmlns/nrml/0.5">'
            f'<vulnerabilityModel id="v-{loss}" assetCategory="buildings" lossCategory="{loss}">'
            '<description>synthetic</description>' + "".join(funcs) + "</vulnerabilityModel></nrml>\n")


def write_case(directory: Path, spec: CaseSpec) -> Path:
    """Write one job (files in ``directory``); returns the path of job.ini."""
    rng = np.random.default_rng(spec.seed)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    span = 0.02 * np.sqrt(spec.n_sites)
    site_lon = np.round(LON0 + rng.uniform(-span, span, spec.n_sites), 5)
    site_lat = np.round(LAT0 + rng.uniform(-span, span, spec.n_sites), 5)
    params = _write_sites(d, spec, site_lon, site_lat)
    engine_sid = _engine_order(spec, site_lon, site_lat)

    # exposure: assets scattered around the sites, a few far away (discarded)
    home = rng.integers(0, spec.n_sites, spec.n_assets)
    lon = site_lon[home] + rng.normal(0, 0.01, spec.n_assets)
    lat = site_lat[home] + rng.normal(0, 0.01, spec.n_assets)
    far = rng.random(spec.n_assets) < 0.02
    lon[far] += 1.0
    taxo = rng.choice([*TAXONOMIES, "mixed"], spec.n_assets)
    number = rng.integers(1, 40, spec.n_assets).astype(float)
    area = rng.uniform(50, 400, spec.n_assets)
    night = rng.uniform(0, 50, spec.n_assets)
    header = "id,lon,lat,taxonomy,number,area,structural,contents,night,day,transit,residents"
    rows = [f"a{i},{lon[i]:.5f},{lat[i]:.5f},{taxo[i]},{number[i]:.0f},{area[i]:.2f},"
            f"{rng.uniform(1e4, 1e6):.2f},{rng.uniform(10, 300):.2f},{night[i]:.3f},"
            f"{0.6 * night[i]:.3f},{0.2 * night[i]:.3f},{1.1 * night[i]:.3f}"
            for i in range(spec.n_assets)]
    (d / "exposure.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    (d / "exposure.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<nrml xmlns="http://openquake.org/xmlns/nrml/0.5">'
        '<exposureModel id="ex" category="buildings" taxonomySource="synthetic">'
        "<description>synthetic</description><conversions><costTypes>"
        '<costType name="structural" type="per_asset" unit="CNY"/>'
        '<costType name="contents" type="per_area" unit="CNY"/></costTypes>'
        '<area type="per_asset" unit="SQM"/></conversions>'
        "<occupancyPeriods>night day transit</occupancyPeriods>"
        "<assets>exposure.csv</assets></exposureModel></nrml>\n")
    mapping = ["taxonomy,risk_id,weight", *(f"{t},{t},1" for t in TAXONOMIES),
               "mixed,RC-low,0.3", "mixed,MUR,0.5", "mixed,W,0.2"]
    (d / "taxonomy_mapping.csv").write_text("\n".join(mapping) + "\n")

    # ground motion: lognormal around a distance decay, some rows missing
    dist = np.hypot(site_lon - LON0, site_lat - LAT0) * 111.0
    lines = []
    for e in range(spec.n_events):
        eta = rng.normal(0, 0.3)
        for s in range(spec.n_sites):
            if rng.random() < spec.missing_fraction:
                continue
            pga = 0.6 * np.exp(-dist[s] / 40.0 + eta + rng.normal(0, 0.4))
            sa = pga * rng.uniform(1.5, 2.5)
            if rng.random() < 0.01:
                pga = 0.0
            lines.append((e, int(engine_sid[s]), f"s{s:05d}", pga, sa))
    if spec.site_file and not spec.plain_sites:
        body = "\n".join(f"{e},{c},{p:.6e},{q:.6e}" for e, _, c, p, q in lines)
        (d / "gmf.csv").write_text("event_id,custom_site_id,gmv_PGA,gmv_SA(0.3)\n" + body + "\n")
    else:
        body = "\n".join(f"{s},{e},{p:.6e},{q:.6e}" for e, s, _, p, q in lines)
        (d / "gmf.csv").write_text("sid,eid,gmv_PGA,gmv_SA(0.3)\n" + body + "\n")

    params.update({
        "description": f"QuakeWatch synthetic {spec.mode} seed {spec.seed}",
        "calculation_mode": spec.mode, "gmfs_csv": "gmf.csv", "exposure_file": "exposure.xml",
        "taxonomy_mapping_csv": "taxonomy_mapping.csv", "time_event": spec.time_event,
        "asset_hazard_distance": "20", "number_of_ground_motion_fields": str(spec.n_events),
        "discrete_damage_distribution": "false", "ignore_covs": "true",
        "region": ", ".join(f"{x:.4f} {y:.4f}" for x, y in (
            (LON0 - 3, LAT0 - 3), (LON0 + 3, LAT0 - 3), (LON0 + 3, LAT0 + 3), (LON0 - 3, LAT0 + 3))),
    })
    if spec.mode == "scenario_damage":
        (d / "fragility.xml").write_text(_fragility_xml(rng))
        cons = ["risk_id,consequence,loss_type,peril," + ",".join(STATES)]
        for t in TAXONOMIES:
            ratios = {"losses": [0.02, 0.1, 0.5, 1.0], "collapsed": [0, 0, 0.05, 0.4],
                      "fatalities": [0, 0.0001, 0.001, 0.1], "injured": [0.0005, 0.001, 0.01, 0.2],
                      "homeless": [0, 0.1, 0.6, 1.0]}
            for name, r in ratios.items():
                jitter = rng.uniform(0.8, 1.2, 4)
                cons.append(f"{t},{name},structural,groundshaking," + ",".join(f"{x * j:.6f}" for x, j in zip(r, jitter)))
        if spec.contents:
            (d / "fragility_contents.xml").write_text(_fragility_xml(rng, "contents"))
            params["contents_fragility_file"] = "fragility_contents.xml"
            for t in TAXONOMIES:
                cons.append(f"{t},losses,contents,groundshaking,0.05,0.2,0.6,1.0")
        (d / "consequences.csv").write_text("\n".join(cons) + "\n")
        params.update({"structural_fragility_file": "fragility.xml", "consequence_file": "{'taxonomy': 'consequences.csv'}"})
    else:
        (d / "vulnerability_structural.xml").write_text(_vulnerability_xml(rng, "structural"))
        (d / "vulnerability_occupants.xml").write_text(_vulnerability_xml(rng, "occupants"))
        params.update({"structural_vulnerability_file": "vulnerability_structural.xml",
                       "occupants_vulnerability_file": "vulnerability_occupants.xml"})
        if spec.contents:
            (d / "vulnerability_contents.xml").write_text(_vulnerability_xml(rng, "contents"))
            params["contents_vulnerability_file"] = "vulnerability_contents.xml"
    ini = configparser.ConfigParser(interpolation=None)
    ini["general"] = params
    with (d / "job.ini").open("w") as handle:
        ini.write(handle)
    return d / "job.ini"


HAZUS_TYPES = ("W1", "C1L", "URML", "S1L", "PC1")


def write_scenario(directory: Path, *, n_assets: int = 500, realisations: int = 50, seed: int = 0,
                   mw: float = 6.5, time_of_day: str = "night", extra: str = "") -> Path:
    """A QuakeWatch scenario around Taiyuan: exposure of Hazus building types, a
    lognormal fragility per type (PGA and SA(0.3)), consequences for economic loss and
    homeless; casualties come from the Hazus rates.  Returns the scenario path."""
    rng = np.random.default_rng(seed)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    lon = np.round(LON0 + rng.uniform(-0.5, 0.5, n_assets), 5)
    lat = np.round(LAT0 + rng.uniform(-0.5, 0.5, n_assets), 5)
    taxo = rng.choice(HAZUS_TYPES, n_assets)
    night = rng.uniform(5, 200, n_assets)
    rows = [f"b{i},{lon[i]:.5f},{lat[i]:.5f},{taxo[i]},{rng.integers(1, 20)},{rng.uniform(1e5, 5e6):.2f},"
            f"{night[i]:.2f},{0.5 * night[i]:.2f},{0.3 * night[i]:.2f},{1.05 * night[i]:.2f}" for i in range(n_assets)]
    (d / "exposure.csv").write_text("id,lon,lat,taxonomy,number,structural,night,day,transit,residents\n"
                                    + "\n".join(rows) + "\n")
    (d / "exposure.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<nrml xmlns="http://openquake.org/xmlns/nrml/0.5">'
        '<exposureModel id="taiyuan" category="buildings" taxonomySource="Hazus">'
        "<description>synthetic</description><conversions><costTypes>"
        '<costType name="structural" type="per_asset" unit="CNY"/></costTypes></conversions>'
        "<occupancyPeriods>night day transit</occupancyPeriods>"
        "<assets>exposure.csv</assets></exposureModel></nrml>\n")
    funcs = []
    for i, t in enumerate(HAZUS_TYPES):
        medians = np.array([0.12, 0.25, 0.5, 0.9]) * (0.7 + 0.15 * i)
        imt = "PGA" if i % 2 == 0 else "SA(0.3)"
        if imt != "PGA":
            medians = medians * 2.0
        params = "".join(f'<params ls="{s}" mean="{m * np.exp(0.32):.5f}" stddev="{m * 0.55:.5f}"/>'
                         for s, m in zip(STATES, medians))
        funcs.append(f'<fragilityFunction id="{t}" format="continuous" shape="logncdf">'
                     f'<imls imt="{imt}" minIML="0.01" maxIML="4.0"/>{params}</fragilityFunction>')
    (d / "fragility.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<nrml xmlns="http://openquake.org/xmlns/nrml/0.5">'
        '<fragilityModel id="f" assetCategory="buildings" lossCategory="structural">'
        f'<description>synthetic</description><limitStates>{" ".join(STATES)}</limitStates>'
        + "".join(funcs) + "</fragilityModel></nrml>\n")
    cons = ["risk_id,consequence,loss_type," + ",".join(STATES)]
    for t in HAZUS_TYPES:
        cons.append(f"{t},losses,structural,0.02,0.1,0.5,1.0")
        cons.append(f"{t},homeless,structural,0,0.1,0.6,1.0")
    (d / "consequences.csv").write_text("\n".join(cons) + "\n")
    text = f"""version: 1
name: synthetic M{mw} near Taiyuan
rupture: {{lon: {LON0 + 0.05}, lat: {LAT0 - 0.1}, depth_km: 10, mw: {mw}, strike_deg: 30, dip_deg: 70, rake_deg: -90}}
time_of_day: {time_of_day}
exposure: exposure.xml
fragility: fragility.xml
consequences: [consequences.csv]
casualty_model: hazus
ground_motion: {{model: BSSA14, vs30_mps: 400, realisations: {realisations}, seed: {seed}, truncation_level: 3}}
pager: {{country: CN, usd_per_unit: 0.14}}
response: {{gdp_previous_year: 2.57e12, population_class: densely_populated}}
relief: {{days: 3}}
{extra}"""
    (d / "scenario.yaml").write_text(text)
    return d / "scenario.yaml"
