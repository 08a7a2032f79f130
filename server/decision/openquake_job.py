"""Run an OpenQuake ``scenario_damage`` / ``scenario_risk`` job from its own files.

An analyst's ``job.ini`` with an exposure, fragility or vulnerability models,
consequence tables and ground-motion fields (``gmfs_csv``) is read as the
OpenQuake engine 3.26 reads it, and computed by :mod:`quakewatch.ext.loss`
with ``convention="openquake"``.  The conventions that decide the numbers,
each checked against the engine in ``tests/test_loss_openquake.py``:

* sites given inline (``sites = lon lat, ...``) or in a header-less CSV are
  *sorted* by (lon, lat) before numbering (``Mesh.from_coords``); a CSV with a
  header keeps its order and may carry ``custom_site_id``; coordinates are
  rounded to 1e-5 degrees;
* GMF values are read as float32, as the engine stores them; an event with no
  row for a site leaves its assets undamaged; averages are over all events of
  the file;
* assets outside ``region`` are discarded; each remaining asset goes to its
  nearest site within ``asset_hazard_distance`` (default 15 km), others are
  discarded (and listed in the provenance);
* a taxonomy maps to risk ids with weights through ``taxonomy_mapping_csv``
  (else the taxonomy is the risk id);
* consequences multiply the damage fractions by the asset's value of the
  loss type (``losses``), its occupants at ``time_event`` (``fatalities``,
  ``injured``), its residents (``homeless``) or its number (``collapsed``);
* ``scenario_risk`` losses are expected losses (mean loss ratio x value).
  With non-zero coefficients of variation and ``ignore_covs = false`` the
  engine samples the ratio instead; its result then differs from ours by
  Monte-Carlo noise only (see :mod:`quakewatch.ext.vulnerability`).

Jobs that need the engine's hazard calculator (a rupture and a GSIM logic
tree instead of GMFs) are refused with a clear error: use ``quakewatch loss
--scenario`` with QuakeWatch's own ground-motion models instead.
"""

from __future__ import annotations

import ast
import configparser
import csv
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from quakewatch.ext.loss import AssetMapping, Consequence, DamageResult, distinct, scenario_damage, scenario_losses
from quakewatch.ext.nearest_site import nearest_site

from .distributed import damage_on_cluster, losses_on_cluster
from .estimate import LossEstimate, TotalSummary, summarise
from .nrml import (
    ConsequenceTable,
    Exposure,
    FragilityModel,
    InputFileError,
    VulnerabilityModel,
    consequence_scale,
    csv_lines,
    read_consequences,
    read_exposure,
    read_fragility_model,
    read_taxonomy_mapping,
    read_vulnerability_model,
    scan_csv_file,
)

__all__ = ["OpenQuakeJob", "estimate_from_job", "read_job"]

FloatArray = npt.NDArray[np.float64]
Selection = npt.NDArray[np.int64] | slice  # rows of the exposure
LOSS_TYPES = ("structural", "nonstructural", "contents", "business_interruption")
VULNERABILITY_TYPES = (*LOSS_TYPES, "occupants", "residents")
SUPPORTED_MODES = ("scenario_damage", "scenario_risk")


@dataclass(frozen=True, eq=False)
class OpenQuakeJob:
    """Everything a scenario job needs, read and checked."""

    path: Path
    mode: str
    params: dict[str, str]
    exposure: Exposure
    site_lon: FloatArray
    site_lat: FloatArray
    gmf: dict[str, FloatArray]  # imt -> (n_events, n_sites), NaN = no value
    event_ids: npt.NDArray[np.int64]
    fragility: dict[str, FragilityModel]  # loss type -> model
    vulnerability: dict[str, VulnerabilityModel]
    consequences: ConsequenceTable | None
    taxonomy_map: dict[str, list[tuple[str, float]]]  # taxonomy -> [(risk id, weight)]
    time_event: str


# --------------------------------------------------------------------------- #
# job.ini
# --------------------------------------------------------------------------- #


def _params(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error) as exc:
        raise InputFileError(f"{path}: cannot read the job file: {exc}") from exc
    out: dict[str, str] = {}
    for section in parser.sections():
        out.update({k: v.strip() for k, v in parser.items(section)})
    return out


def _file(job: Path, text: str, key: str) -> Path:
    p = (job.parent / text.strip()).resolve()
    if not p.is_file():
        raise InputFileError(f"{job}: {key} = {text!r}: no such file")
    return p


def _bool(params: dict[str, str], key: str, default: bool) -> bool:
    text = params.get(key)
    if text is None:
        return default
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise InputFileError(f"{key} must be true or false, got {text!r}")


def _distance_km(params: dict[str, str], path: Path) -> float:
    text = params.get("asset_hazard_distance", "15")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise InputFileError(f"{path}: asset_hazard_distance must be a number or a dict, got {text!r}") from None
    return float(max(value.values()) if isinstance(value, dict) else value)


# --------------------------------------------------------------------------- #
# sites and ground motion
# --------------------------------------------------------------------------- #


def _coordinates(text: str, where: str) -> FloatArray:
    """``lon lat, lon lat, ...`` as an (n, 2) array (thousands of sites: one split when
    every pair is two numbers; a third value, a depth, is ignored)."""
    pairs = text.split(",")
    try:
        return np.array(text.replace(",", " ").split(), dtype=np.float64).reshape(len(pairs), 2)
    except ValueError:
        pass
    out = []
    for pair in pairs:
        parts = pair.split()
        if len(parts) < 2:
            raise InputFileError(f"{where}: expected 'lon lat' pairs, got {pair.strip()!r}")
        try:
            out.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise InputFileError(f"{where}: expected 'lon lat' pairs, got {pair.strip()!r}") from None
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _sites(job: Path, params: dict[str, str]) -> tuple[FloatArray, FloatArray, list[str] | None]:
    """Site coordinates in the engine's numbering, and custom ids when given."""
    if "sites" in params:
        coords = _coordinates(params["sites"], f"{job}: sites")
        lon, lat = coords[np.lexsort((coords[:, 1], coords[:, 0]))].T  # sorted as the engine sorts them
        return np.round(lon, 5), np.round(lat, 5), None
    for key in ("sites_csv", "site_model_file"):
        if key in params:
            if len(params[key].split()) != 1:
                raise InputFileError(f"{job}: {key}: one site file is read, got {params[key]!r}")
            path = _file(job, params[key], key)
            with path.open(newline="", encoding="utf-8-sig") as handle:
                rows = [r for r in csv.reader(csv_lines(handle)) if r]
            try:
                float(rows[0][0])
                header = None
            except ValueError:
                header = [c.strip() for c in rows[0]]
            if header is None:  # a plain list of lon,lat: the engine sorts it
                lon, lat = np.array(sorted((float(r[0]), float(r[1])) for r in rows)).T
                return np.round(lon, 5), np.round(lat, 5), None
            if "lon" not in header or "lat" not in header:
                raise InputFileError(f"{path}: the site file needs lon and lat columns")
            body = rows[1:]
            lon = np.round(np.array([float(r[header.index("lon")]) for r in body]), 5)
            lat = np.round(np.array([float(r[header.index("lat")]) for r in body]), 5)
            custom = ([r[header.index("custom_site_id")] for r in body]
                      if "custom_site_id" in header else None)
            return lon, lat, custom
    raise InputFileError(f"{job}: the ground-motion fields need sites (sites, sites_csv or site_model_file)")


def _gmf_columns(path: Path) -> dict[str, Any]:
    """The GMF CSV's columns (renamed to sid / eid), by the plain-CSV scanner or pandas."""
    import pandas as pd

    names = {"site_id": "sid", "event_id": "eid"}
    header, fast, skip = scan_csv_file(path, "GMF CSV", lambda c: c != "custom_site_id", lambda c: c == "custom_site_id")
    if fast is not None:
        columns: dict[str, Any] = {**fast.numbers, **fast.texts}
        return {names.get(c, c): columns[c] for c in header}
    try:
        df = pd.read_csv(path, skiprows=skip, dtype={"custom_site_id": str}, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{path}: cannot read the GMF CSV: {exc}") from exc
    return {names.get(str(c).strip(), str(c).strip()): df[c].to_numpy() for c in df.columns}


def _integers(values: Any, path: Path) -> npt.NDArray[np.int64]:
    a = np.asarray(values)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.array_equal(a, np.floor(a)):
            raise InputFileError(f"{path}: eid and sid must be integers")
        return a.astype(np.int64)
    try:
        return a.astype(np.int64)
    except (TypeError, ValueError) as exc:
        raise InputFileError(f"{path}: eid and sid must be integers ({exc})") from None


def _gmfs(path: Path, n_sites: int, custom: list[str] | None) -> tuple[dict[str, FloatArray], npt.NDArray[np.int64]]:
    """GMF CSV -> {imt: (n_events, n_sites)} (NaN where a site has no row) and the event ids."""
    import pandas as pd

    df = _gmf_columns(path)
    if "eid" not in df or ("sid" not in df and "custom_site_id" not in df):
        raise InputFileError(f"{path}: a GMF CSV needs eid (event_id) and sid (site_id) or custom_site_id")
    imt_cols = [(c, c[4:] if c.startswith("gmv_") else c) for c in df
                if c not in ("sid", "eid", "custom_site_id", "rlz_id", "rlzi")]
    if not imt_cols:
        raise InputFileError(f"{path}: no ground-motion columns (gmv_<IMT>)")
    eids = _integers(df["eid"], path)
    if "sid" in df:
        sids = _integers(df["sid"], path)
    else:
        if custom is None:
            raise InputFileError(f"{path}: custom_site_id needs a site file with custom_site_id")
        given = np.array([str(v).strip() for v in df["custom_site_id"]], dtype=object)
        sids = pd.Index(custom).get_indexer(given).astype(np.int64)
        if (sids < 0).any():
            raise InputFileError(f"{path}: unknown custom_site_id {given[int(np.argmax(sids < 0))]!r}")
    if (sids < 0).any() or (sids >= n_sites).any():
        raise InputFileError(f"{path}: site ids must be within [0, {n_sites - 1}]")
    events, event_row = np.unique(eids, return_inverse=True)
    pairs = event_row.reshape(-1) * n_sites + sids
    if distinct(pairs, events.size * n_sites)[0].size != pairs.size:
        raise InputFileError(f"{path}: duplicated (site, event) rows")
    gmf: dict[str, FloatArray] = {}
    for col, imt in imt_cols:
        try:
            values = np.asarray(df[col]).astype(np.float32).astype(np.float64)  # the engine stores float32
        except (TypeError, ValueError):
            raise InputFileError(f"{path}: column {col!r} must hold numbers") from None
        if not np.all(np.isfinite(values)) or (values < 0).any():
            raise InputFileError(f"{path}: column {col!r} must hold finite values >= 0")
        m = np.full((events.size, n_sites), np.nan)
        m[event_row.reshape(-1), sids] = values
        gmf[imt] = m
    return gmf, events


def _inside(lon: FloatArray, lat: FloatArray, polygon: FloatArray) -> npt.NDArray[np.bool_]:
    """Points strictly inside the polygon (lon/lat plane), vectorised over points.

    Even-odd rule; points on an edge are outside, as shapely's ``within``
    (which the engine uses) decides.
    """
    inside = np.zeros(lon.size, dtype=bool)
    on_edge = np.zeros(lon.size, dtype=bool)
    xs, ys = np.array(polygon).T
    for i in range(len(polygon)):
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        crosses = (y1 > lat) != (y2 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (lon < x_at)
        cross = (x2 - x1) * (lat - y1) - (y2 - y1) * (lon - x1)
        scale = max(abs(x2 - x1) + abs(y2 - y1), 1e-300)
        on_edge |= ((np.abs(cross) <= 1e-12 * scale)
                    & (lon >= min(x1, x2) - 1e-12) & (lon <= max(x1, x2) + 1e-12)
                    & (lat >= min(y1, y2) - 1e-12) & (lat <= max(y1, y2) + 1e-12))
    return inside & ~on_edge


def associate(asset_lon: FloatArray, asset_lat: FloatArray, site_lon: FloatArray, site_lat: FloatArray,
              max_km: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Nearest site of each asset (great-circle) and whether it is within ``max_km``
    (the index of an asset beyond ``max_km`` of every site may be -1)."""
    index, km = nearest_site(site_lon, site_lat, asset_lon, asset_lat, max_km=max_km)
    return index, km <= max_km


# --------------------------------------------------------------------------- #
# reading the job
# --------------------------------------------------------------------------- #


def _consequence_files(job: Path, text: str) -> list[Path]:
    try:
        value: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text.split()
    if isinstance(value, dict):
        value = [v for vs in value.values() for v in ([vs] if isinstance(vs, str) else vs)]
    if isinstance(value, str):
        value = [value]
    return [_file(job, str(v), "consequence_file") for v in value]


def read_job(path: str | Path) -> OpenQuakeJob:
    """Read and check a scenario_damage / scenario_risk ``job.ini``."""
    job = Path(path).resolve()
    params = _params(job)
    mode = params.get("calculation_mode", "")
    if mode not in SUPPORTED_MODES:
        raise InputFileError(f"{job}: calculation_mode must be one of {SUPPORTED_MODES}, got {mode!r}")
    gmf_key = next((k for k in ("gmfs_csv", "gmfs_file") if k in params), None)
    if gmf_key is None or not params[gmf_key].endswith(".csv"):
        raise InputFileError(f"{job}: the job needs ground-motion fields as CSV (gmfs_csv); jobs that "
                             "compute them from a rupture run with `quakewatch loss --scenario`")
    if "exposure_file" not in params:
        raise InputFileError(f"{job}: exposure_file is required")
    if len(params["exposure_file"].split()) != 1:
        raise InputFileError(f"{job}: exposure_file: one exposure file is read, got {params['exposure_file']!r}")
    exposure = read_exposure(_file(job, params["exposure_file"], "exposure_file"))
    site_lon, site_lat, custom = _sites(job, params)
    gmf, events = _gmfs(_file(job, params[gmf_key], gmf_key), site_lon.size, custom)

    fragility: dict[str, FragilityModel] = {}
    for key in ("fragility_file", *(f"{lt}_fragility_file" for lt in LOSS_TYPES)):
        if key in params:
            model = read_fragility_model(_file(job, params[key], key))
            fragility[key.removesuffix("_fragility_file") if key != "fragility_file" else model.loss_type] = model
    vulnerability: dict[str, VulnerabilityModel] = {}
    for lt in VULNERABILITY_TYPES:
        key = f"{lt}_vulnerability_file"
        if key in params:
            vulnerability[lt] = read_vulnerability_model(_file(job, params[key], key))
    if mode == "scenario_damage" and not fragility:
        raise InputFileError(f"{job}: scenario_damage needs a fragility model (structural_fragility_file)")
    if mode == "scenario_risk" and not vulnerability:
        raise InputFileError(f"{job}: scenario_risk needs a vulnerability model (structural_vulnerability_file)")
    consequences = None
    if "consequence_file" in params and fragility:
        states = next(iter(fragility.values())).limit_states
        consequences = read_consequences(list(_consequence_files(job, params["consequence_file"])), states)
    time_event = params.get("time_event", "avg")
    if time_event not in ("avg", "day", "night", "transit"):
        raise InputFileError(f"{job}: time_event must be avg, day, night or transit, got {time_event!r}")
    return OpenQuakeJob(
        path=job, mode=mode, params=params, exposure=exposure, site_lon=site_lon, site_lat=site_lat,
        gmf=gmf, event_ids=events, fragility=fragility, vulnerability=vulnerability,
        consequences=consequences,
        taxonomy_map=read_taxonomy_mapping(
            _file(job, params["taxonomy_mapping_csv"], "taxonomy_mapping_csv")
            if "taxonomy_mapping_csv" in params else None, set(exposure.taxonomy_classes[0].tolist())),
        time_event=time_event,
    )


# --------------------------------------------------------------------------- #
# computing
# --------------------------------------------------------------------------- #


def asset_mapping(classes: tuple[npt.NDArray[np.str_], npt.NDArray[np.intp]], site: npt.NDArray[np.int64],
                  taxonomy_map: dict[str, list[tuple[str, float]]], risk_ids: list[str],
                  where: str) -> AssetMapping:
    """Assets in taxonomy classes (``Exposure.taxonomy_classes``, computed once per portfolio),
    each class mapped to risk functions (indices into ``risk_ids``)."""
    index = {r: i for i, r in enumerate(risk_ids)}
    taxonomies, asset_class = classes
    slots = max(len(v) for v in taxonomy_map.values())
    fn = np.full((taxonomies.size, slots), -1, dtype=np.int64)
    w = np.zeros((taxonomies.size, slots))
    for c, taxo in enumerate(taxonomies.tolist()):
        for s, (risk, weight) in enumerate(taxonomy_map[taxo]):
            if risk not in index:
                raise InputFileError(f"{where}: no risk function for risk id {risk!r} (taxonomy {taxo!r})")
            fn[c, s], w[c, s] = index[risk], weight
    return AssetMapping(site_index=site, functions=fn, weights=w, asset_class=asset_class)


def _scale(job: OpenQuakeJob, name: str, loss_type: str, keep: Selection) -> FloatArray:
    exp = job.exposure
    kind = consequence_scale(name)
    if kind == "value":
        if loss_type not in exp.values:
            raise InputFileError(f"{exp.source}: no {loss_type!r} cost for consequence {name!r}")
        return exp.values[loss_type][keep]
    if kind == "occupants":
        if job.time_event not in exp.occupants:
            raise InputFileError(f"{exp.source}: no occupants for time_event {job.time_event!r}")
        return exp.occupants[job.time_event][keep]
    if kind == "residents":
        if exp.residents is None:
            raise InputFileError(f"{exp.source}: consequence {name!r} needs a residents field")
        return exp.residents[keep]
    return exp.number[keep]


def _value(job: OpenQuakeJob, loss_type: str, keep: Selection) -> FloatArray:
    exp = job.exposure
    if loss_type == "occupants":
        return _scale(job, "fatalities", loss_type, keep)
    if loss_type == "residents":
        return _scale(job, "homeless", loss_type, keep)
    if loss_type not in exp.values:
        raise InputFileError(f"{exp.source}: no {loss_type!r} value for the vulnerability model")
    return exp.values[loss_type][keep]


def _minimum_loss(job: OpenQuakeJob, loss_type: str) -> float:
    text = job.params.get("minimum_asset_loss")
    if not text:
        return 0.0
    try:
        value = ast.literal_eval(text)
        return float(value.get(loss_type, 0.0) if isinstance(value, dict) else value)
    except (ValueError, SyntaxError, AttributeError):
        raise InputFileError(f"{job.path}: minimum_asset_loss must be a number or a dict by loss type, "
                             f"got {text!r}") from None


def estimate_from_job(job: OpenQuakeJob, *, threads: int = 2, client: Any = None) -> LossEstimate:
    """Compute damage, consequences and losses for every asset of the job.

    With a Dask ``client`` the portfolio is spread over its workers
    (:mod:`.distributed`); the per-asset results are the same.
    """
    t0 = time.perf_counter()
    exp = job.exposure
    candidates = np.arange(len(exp), dtype=np.int64)
    if "region" in job.params:
        polygon = _coordinates(job.params["region"], f"{job.path}: region")
        candidates = candidates[_inside(exp.lon, exp.lat, polygon)]
    site, near = associate(exp.lon[candidates], exp.lat[candidates], job.site_lon, job.site_lat,
                           _distance_km(job.params, job.path))
    keep, site = candidates[near], site[near]
    if keep.size == 0:
        raise InputFileError(f"{job.path}: no asset lies within asset_hazard_distance of a site")
    kept = np.zeros(len(exp), dtype=bool)
    kept[keep] = True
    discarded = exp.ids[~kept].tolist()
    # the kept assets' rows; every asset: views of the exposure's arrays, not copies
    selected: Selection = slice(None) if keep.size == len(exp) else keep

    damage: dict[str, FloatArray] = {}
    losses: dict[str, FloatArray] = {}
    casualties: dict[str, FloatArray] = {}
    other: dict[str, FloatArray] = {}
    totals: dict[str, TotalSummary] = {}
    states: tuple[str, ...] = ("no_damage",)

    taxonomies, asset_class = exp.taxonomy_classes
    classes = (taxonomies, asset_class[selected])
    mappings: dict[tuple[str, ...], AssetMapping] = {}  # loss types with the same risk ids share one

    def mapping_of(risk_ids: list[str]) -> AssetMapping:
        key = tuple(risk_ids)
        if key not in mappings:
            mappings[key] = asset_mapping(classes, site, job.taxonomy_map, risk_ids, str(job.path))
        return mappings[key]

    for lt, model in job.fragility.items():
        risk_ids = sorted(model.functions)
        mapping = mapping_of(risk_ids)
        consequences = []
        if job.consequences is not None:
            for name in job.consequences.names:
                rows = [job.consequences.ratios.get((name, lt, r)) for r in risk_ids]
                if all(r is None for r in rows):
                    continue
                ratios = np.array([r if r is not None else np.zeros(len(model.limit_states)) for r in rows])
                consequences.append(Consequence(name, ratios, _scale(job, name, lt, selected)))
        if client is not None:
            result: DamageResult = damage_on_cluster(
                client, [model.functions[r] for r in risk_ids], mapping, exp.number[selected], job.gmf,
                consequences, convention="openquake")
        else:
            result = scenario_damage(
                [model.functions[r] for r in risk_ids], mapping, exp.number[selected], job.gmf,
                consequences, convention="openquake", threads=threads)
        states = ("no_damage", *model.limit_states)
        damage[lt] = result.fractions
        for k, name in enumerate(states):
            totals[f"{lt}:{name}"] = summarise(result.event_totals[f"buildings:{k}"])
        for name, values in result.consequences.items():
            key = name if lt == "structural" else f"{name}:{lt}"
            kind = consequence_scale(name)
            target = losses if kind == "value" else casualties if kind in ("occupants", "residents") else other
            target[lt if target is losses else key] = values
            totals[f"{name}:{lt}"] = summarise(result.event_totals[name])

    for lt, vmodel in job.vulnerability.items():
        risk_ids = sorted(vmodel.functions)
        mapping = mapping_of(risk_ids)
        functions = [vmodel.functions[r] for r in risk_ids]
        if client is not None:
            loss = losses_on_cluster(client, functions, mapping, _value(job, lt, selected), job.gmf,
                                     minimum_loss=_minimum_loss(job, lt))
        else:
            loss = scenario_losses(functions, mapping, _value(job, lt, selected), job.gmf,
                                   minimum_loss=_minimum_loss(job, lt), threads=threads)
        (casualties if lt in ("occupants", "residents") else losses)[lt] = loss.losses
        totals[f"losses:{lt}"] = summarise(loss.event_totals)

    return LossEstimate(
        asset_ids=exp.ids[selected], lon=exp.lon[selected], lat=exp.lat[selected], taxonomy=exp.taxonomy[selected],
        number=exp.number[selected], damage_states=states, damage=damage, losses=losses,
        casualties=casualties, other=other, totals=totals, n_events=int(job.event_ids.size),
        provenance={
            "method": f"openquake-{job.mode}", "job": str(job.path),
            "exposure": exp.source, "time_event": job.time_event,
            "fragility": {lt: m.source for lt, m in job.fragility.items()},
            "vulnerability": {lt: m.source for lt, m in job.vulnerability.items()},
            "consequences": list(job.consequences.sources) if job.consequences else [],
            "discarded_assets": discarded, "n_events": int(job.event_ids.size),
            "expected_losses": True, "seconds": time.perf_counter() - t0,
        },
    )
