"""Readers for the OpenQuake NRML risk inputs analysts already have.

Exposure (XML header with inline assets or CSV data files), fragility models
(continuous and discrete), vulnerability models (LN, BT, PM) and consequence
tables (CSV), as documented in the OpenQuake engine manual ("Exposure Models",
"Fragility Models", "Vulnerability Models", "Consequence Models") for engine
3.26.  Only the standard library XML parser and ``csv`` are used; values are
converted once into arrays and into :mod:`quakewatch.ext` objects.

Errors name the file, the element or column and the offending value
(:class:`InputFileError`).  NRML 0.4 fragility/vulnerability files (the
pre-2015 schema) are refused with a pointer to ``oq upgrade_nrml``.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from quakewatch.ext.csv_columns import CsvColumns, csv_header, factorize, lines_before, mapped, scan_csv, sorted_classes
from quakewatch.ext.fragility import DiscreteFragility, LognormalFragility
from quakewatch.ext.vulnerability import VulnerabilityFunction

__all__ = [
    "ConsequenceTable",
    "Exposure",
    "FragilityModel",
    "InputFileError",
    "consequence_scale",
    "csv_lines",
    "VulnerabilityModel",
    "read_consequences",
    "read_exposure",
    "read_fragility_model",
    "read_taxonomy_mapping",
    "read_vulnerability_model",
]

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]

OCCUPANCY_PERIODS = ("day", "night", "transit")
COST_TYPES = ("structural", "nonstructural", "contents", "business_interruption")


class InputFileError(ValueError):
    """An input file is malformed; the message names file, element and value."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in node if _local(c.tag) == name]


def _child(node: ET.Element, name: str, path: Path) -> ET.Element:
    found = _children(node, name)
    if not found:
        raise InputFileError(f"{path}: <{_local(node.tag)}> has no <{name}>")
    return found[0]


def _root(path: Path, model: str) -> ET.Element:
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        raise InputFileError(f"{path}: cannot read XML: {exc}") from exc
    root = tree.getroot()
    if "nrml/0.4" in root.tag and model != "exposureModel":
        raise InputFileError(f"{path}: NRML 0.4 {model} files are not read; "
                             "convert with `oq upgrade_nrml` (OpenQuake) first")
    found = [n for n in root.iter() if _local(n.tag) == model]
    if not found:
        raise InputFileError(f"{path}: expected a <{model}> element")
    return found[0]


def csv_lines(handle: Iterator[str]) -> Iterator[str]:
    """Lines of a CSV file without the engine's ``#,,"generated_by=..."`` comment lines."""
    return (line for line in handle if not line.startswith("#"))


def _float(text: str | None, where: str) -> float:
    try:
        value = float(text) if text is not None else float("nan")
    except ValueError:
        raise InputFileError(f"{where}: {text!r} is not a number") from None
    if not np.isfinite(value):
        raise InputFileError(f"{where}: a finite number is required, got {text!r}")
    return value


def _floats(text: str | None, where: str) -> FloatArray:
    parts = (text or "").replace(",", " ").split()
    return np.array([_float(p, where) for p in parts], dtype=np.float64)


# --------------------------------------------------------------------------- #
# exposure
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class Exposure:
    """Assets as arrays (one row per asset), values already totals per asset.

    ``values[cost_type]`` is the asset's total replacement value after the
    NRML cost-type rules (aggregated / per_asset x number / per_area x area
    [x number]); ``occupants[period]`` the people inside at ``day``, ``night``,
    ``transit`` and their mean ``avg``; ``residents`` (or None) the people who
    live there.
    """

    ids: StrArray
    lon: FloatArray
    lat: FloatArray
    taxonomy: StrArray
    number: FloatArray
    area: FloatArray
    values: dict[str, FloatArray]
    occupants: dict[str, FloatArray]
    residents: FloatArray | None
    tags: dict[str, StrArray]
    units: dict[str, str]
    source: str
    category: str = "buildings"

    def __len__(self) -> int:
        return int(self.ids.size)

    @cached_property
    def taxonomy_classes(self) -> tuple[StrArray, npt.NDArray[np.intp]]:
        """The sorted distinct taxonomies and each asset's index among them (computed once)."""
        return sorted_classes(self.taxonomy)


@dataclass
class _Header:
    cost_types: dict[str, str] = field(default_factory=dict)  # name -> aggregated|per_asset|per_area
    units: dict[str, str] = field(default_factory=dict)
    area_type: str | None = None
    periods: list[str] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)
    field_map: dict[str, list[str]] = field(default_factory=dict)  # csv column -> oq names
    category: str = "buildings"


def _header(model: ET.Element, path: Path) -> _Header:
    h = _Header(category=model.get("category", "buildings"))
    for conv in _children(model, "conversions"):
        for cts in _children(conv, "costTypes"):
            for ct in _children(cts, "costType"):
                kind = ct.get("type", "aggregated")
                if kind not in ("aggregated", "per_asset", "per_area"):
                    raise InputFileError(f"{path}: costType {ct.get('name')!r}: type must be "
                                         f"aggregated, per_asset or per_area, got {kind!r}")
                h.cost_types[ct.get("name", "")] = kind
                h.units[ct.get("name", "")] = ct.get("unit", "")
        for area in _children(conv, "area"):
            h.area_type = area.get("type", "aggregated")
    for occ in _children(model, "occupancyPeriods"):
        h.periods = [p.lower() for p in (occ.text or "").split()]
    for tags in _children(model, "tagNames"):
        h.tag_names = (tags.text or "").split()
    for fields in _children(model, "exposureFields"):
        for f in _children(fields, "field"):
            h.field_map.setdefault(f.get("input", ""), []).append(f.get("oq", ""))
    return h


Columns = dict[str, Any]  # field -> list of texts or ndarray


def _inline_columns(assets: ET.Element, path: Path) -> Columns:
    rows = []
    for node in _children(assets, "asset"):
        row = {k: v for k, v in node.attrib.items()}
        loc = _child(node, "location", path)
        row["lon"], row["lat"] = loc.get("lon", ""), loc.get("lat", "")
        for costs in _children(node, "costs"):
            for cost in _children(costs, "cost"):
                row[cost.get("type", "")] = cost.get("value", "")
        for occs in _children(node, "occupancies"):
            for occ in _children(occs, "occupancy"):
                row[occ.get("period", "").lower()] = occ.get("occupants", "")
        for tags in _children(node, "tags"):
            row.update(tags.attrib)
        rows.append(row)
    names = {k for row in rows for k in row}
    return {k: [row.get(k, "") for row in rows] for k in names}


def scan_csv_file(path: Path, what: str, numbers: Callable[[str], bool],
                  texts: Callable[[str], bool]) -> tuple[list[str], CsvColumns | None, int]:
    """A CSV file's header, its columns by :func:`quakewatch.ext.csv_columns.scan_csv`
    (the columns ``numbers`` / ``texts`` accept; None when the file is not plain CSV or
    repeats a column name: read it with pandas, skipping the returned number of lines
    before the header), or an InputFileError naming ``what``."""
    try:
        with mapped(path) as data:
            try:
                found = csv_header(data)
            except UnicodeDecodeError:
                raise InputFileError(f"{path}: the {what} header is not UTF-8") from None
            if found is None:
                raise InputFileError(f"{path}: the {what} is empty")
            header, start = found
            fast = scan_csv(data, start, header, numbers={c for c in header if numbers(c)},
                            texts={c for c in header if texts(c)})
            skip = lines_before(data, start)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the {what}: {exc}") from exc
    return header, fast if len(set(header)) == len(header) else None, skip


def _csv_columns(path: Path, field_map: dict[str, list[str]], text_fields: set[str],
                 number_fields: set[str]) -> Columns:
    """Columns as {oq field: values}; one column may feed several fields (``exposureFields``).

    Plain CSV is scanned by :func:`quakewatch.ext.csv_columns.scan_csv` (100,000
    assets in about 10 ms): ``text_fields`` as strings, ``number_fields`` as
    float64, other columns not parsed.  Any other file goes to pandas' C parser,
    where text fields stay strings and the rest are parsed as numbers where they
    can be (others stay text and :func:`_column` names the offending value).
    Either way the spaces around a field are not part of it.
    """

    def wanted(column: str, fields: set[str]) -> bool:
        return bool(fields & set(field_map.get(column, [column])))

    header, fast, skip = scan_csv_file(path, "exposure CSV", lambda c: wanted(c, number_fields),
                                       lambda c: wanted(c, text_fields))
    if fast is not None:
        scanned: dict[str, Any] = {**fast.numbers, **fast.texts}
        return {name: values for c, values in scanned.items() for name in field_map.get(c, [c])}
    return _pandas_columns(path, header, skip, field_map, text_fields)


def _pandas_columns(path: Path, header: list[str], skip: int, field_map: dict[str, list[str]],
                    text_fields: set[str]) -> Columns:
    import pandas as pd

    try:
        as_text = {c: str for c in header if text_fields & set(field_map.get(c, [c]))}
        df = pd.read_csv(path, skiprows=skip, dtype=as_text, keep_default_na=False, na_values=[""],
                         skipinitialspace=True, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{path}: cannot read exposure data: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    out: Columns = {}
    for c in df.columns:
        values = df[c].to_numpy()
        if c in as_text:  # strings (object array; read_exposure makes the fixed-width copies)
            values = np.array(["" if pd.isna(v) else str(v).strip() for v in values], dtype=object)
        for name in field_map.get(c, [c]):
            out[name] = values
    return out


def _column(cols: Columns, name: str, where: str, default: float | None = None) -> FloatArray:
    n = len(cols["id"])
    values = cols.get(name)
    if values is None:
        if default is None:
            raise InputFileError(f"{where}: the assets have no {name!r} field")
        return np.full(n, default)
    a = np.asarray(values)
    if a.dtype.kind not in "fiu":  # text: convert, naming the first bad value
        text = np.array(["" if v is None else str(v).strip() for v in a], dtype=object)
        text[text == "nan"] = ""
        try:
            a = np.array([float(t) if t else np.nan for t in text], dtype=np.float64)
        except ValueError:
            bad = next(i for i, t in enumerate(text) if t and not _is_number(t))
            raise InputFileError(f"{where}: asset {str(cols['id'][bad])!r}, field {name!r}: "
                                 f"{text[bad]!r} is not a number") from None
    out = a.astype(np.float64, copy=False)  # never written to: columns may feed several fields
    blank = np.isnan(out)
    if blank.any():
        if default is None:
            raise InputFileError(f"{where}: asset {str(cols['id'][int(np.argmax(blank))])!r} has no {name!r}")
        out = np.where(blank, default, out)
    if not np.all(np.isfinite(out)):
        bad = int(np.argmax(~np.isfinite(out)))
        raise InputFileError(f"{where}: asset {str(cols['id'][bad])!r}, field {name!r}: a finite number is required")
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_exposure(path: str | Path) -> Exposure:
    """Read an NRML exposure model (XML with inline assets or CSV data files)."""
    path = Path(path)
    model = _root(path, "exposureModel")
    h = _header(model, path)
    assets = _child(model, "assets", path)
    files = (assets.text or "").split()
    text_fields = {"id", "taxonomy", *h.tag_names}
    number_fields = {"lon", "lat", "number", "area", "residents", *h.cost_types, *OCCUPANCY_PERIODS, *h.periods}
    parts = ([_csv_columns(path.parent / name, h.field_map, text_fields, number_fields) for name in files] if files
             else [_inline_columns(assets, path)])
    names = set.intersection(*(set(p) for p in parts))
    cols: Columns = {k: np.concatenate([np.asarray(p[k]) for p in parts]) if len(parts) > 1 else np.asarray(parts[0][k])
                     for k in names}
    where = str(path)
    for key in ("id", "taxonomy", "lon", "lat"):
        if key not in cols:
            raise InputFileError(f"{where}: the assets have no {key!r} field")
        if key in ("id", "taxonomy") and (np.asarray(cols[key]) == "").any():
            raise InputFileError(f"{where}: every asset needs a non-empty {key!r}")
    if len(cols["id"]) == 0:
        raise InputFileError(f"{where}: the exposure has no assets")
    ids = np.asarray(cols["id"]).astype(str, copy=False)
    codes, first = factorize(ids)
    if first.size != ids.size:
        twice = ids[int(np.flatnonzero(codes != np.arange(ids.size))[0])]
        raise InputFileError(f"{where}: asset ids must be unique ({str(twice)!r} is used more than once)")
    lon = np.round(_column(cols, "lon", where), 5)  # the engine rounds coordinates to 1e-5 deg
    lat = np.round(_column(cols, "lat", where), 5)
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        raise InputFileError(f"{where}: lon must be within [-180, 180] and lat within [-90, 90]")
    number = _column(cols, "number", where, default=1.0)
    area = _column(cols, "area", where, default=1.0)
    if (number < 0).any() or (area < 0).any():
        raise InputFileError(f"{where}: number and area must be >= 0")
    values: dict[str, FloatArray] = {}
    for name, kind in h.cost_types.items():
        raw = _column(cols, name, where)
        if kind == "per_asset":
            raw = raw * number
        elif kind == "per_area":
            raw = raw * area * (number if h.area_type == "per_asset" else 1.0)
        values[name] = raw
    periods = h.periods or [p for p in OCCUPANCY_PERIODS if p in cols]
    occupants = {p: _column(cols, p, where) for p in periods}
    if occupants:
        total = np.zeros(len(cols["id"]))
        for people in occupants.values():
            total += people
        occupants["avg"] = total / len(occupants)
    residents = _column(cols, "residents", where) if "residents" in cols else None
    n = ids.size
    tags = {t: np.asarray(cols.get(t, ["?"] * n)).astype(str) for t in h.tag_names}
    return Exposure(
        ids=ids, lon=lon, lat=lat, taxonomy=np.asarray(cols["taxonomy"]).astype(str, copy=False),
        number=number, area=area, values=values, occupants=occupants, residents=residents,
        tags=tags, units=dict(h.units), source=str(path), category=h.category,
    )


# --------------------------------------------------------------------------- #
# fragility
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class FragilityModel:
    """Fragility sets by risk id (taxonomy), for one loss category."""

    id: str
    loss_type: str
    limit_states: tuple[str, ...]
    functions: dict[str, LognormalFragility | DiscreteFragility]
    source: str


def read_fragility_model(path: str | Path) -> FragilityModel:
    """Read an NRML 0.5 ``fragilityModel`` (continuous and discrete functions)."""
    path = Path(path)
    model = _root(path, "fragilityModel")
    states = tuple((_child(model, "limitStates", path).text or "").split())
    if not states:
        raise InputFileError(f"{path}: <limitStates> is empty")
    functions: dict[str, LognormalFragility | DiscreteFragility] = {}
    for node in _children(model, "fragilityFunction"):
        fid = node.get("id", "")
        where = f"{path}: fragilityFunction {fid!r}"
        imls = _child(node, "imls", path)
        imt = imls.get("imt", "")
        ndl_text = imls.get("noDamageLimit")
        ndl = _float(ndl_text, f"{where}, noDamageLimit") if ndl_text else None
        kind = node.get("format", "")
        if kind == "continuous":
            params = {p.get("ls"): p for p in _children(node, "params")}
            missing = [s for s in states if s not in params]
            if missing:
                raise InputFileError(f"{where}: no <params> for limit state(s) {missing}")
            mean = [_float(params[s].get("mean"), f"{where}, {s} mean") for s in states]
            std = [_float(params[s].get("stddev"), f"{where}, {s} stddev") for s in states]
            lo, hi = imls.get("minIML"), imls.get("maxIML")
            try:
                functions[fid] = LognormalFragility.from_moments(
                    mean, std, imt=imt, damage_states=states,
                    min_iml=_float(lo, f"{where}, minIML") if lo else None,
                    max_iml=_float(hi, f"{where}, maxIML") if hi else None,
                    no_damage_limit=ndl)
            except ValueError as exc:
                raise InputFileError(f"{where}: {exc}") from exc
        elif kind == "discrete":
            levels = _floats(imls.text, f"{where}, imls")
            poes = {p.get("ls"): _floats(p.text, f"{where}, poes") for p in _children(node, "poes")}
            missing = [s for s in states if s not in poes]
            if missing:
                raise InputFileError(f"{where}: no <poes> for limit state(s) {missing}")
            try:
                functions[fid] = DiscreteFragility(
                    imt=imt, imls=levels, poe_table=np.array([poes[s] for s in states]),
                    damage_states=states, no_damage_limit=ndl)
            except ValueError as exc:
                raise InputFileError(f"{where}: {exc}") from exc
        else:
            raise InputFileError(f"{where}: format must be 'continuous' or 'discrete', got {kind!r}")
    if not functions:
        raise InputFileError(f"{path}: the fragility model has no <fragilityFunction>")
    return FragilityModel(id=model.get("id", ""), loss_type=model.get("lossCategory", "structural"),
                          limit_states=states, functions=functions, source=str(path))


# --------------------------------------------------------------------------- #
# vulnerability
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class VulnerabilityModel:
    """Vulnerability functions by risk id, for one loss category."""

    id: str
    loss_type: str
    functions: dict[str, VulnerabilityFunction]
    source: str


def read_vulnerability_model(path: str | Path) -> VulnerabilityModel:
    """Read an NRML 0.5 ``vulnerabilityModel`` (LN, BT and PM functions)."""
    path = Path(path)
    model = _root(path, "vulnerabilityModel")
    functions: dict[str, VulnerabilityFunction] = {}
    for node in _children(model, "vulnerabilityFunction"):
        fid = node.get("id", "")
        where = f"{path}: vulnerabilityFunction {fid!r}"
        imls_node = _child(node, "imls", path)
        imls = _floats(imls_node.text, f"{where}, imls")
        dist = node.get("dist", "LN")
        try:
            if dist == "PM":
                rows = _children(node, "probabilities")
                ratios = [_float(r.get("lr"), f"{where}, lr") for r in rows]
                probs = np.array([_floats(r.text, f"{where}, probabilities") for r in rows])
                functions[fid] = VulnerabilityFunction.from_pmf(fid, imls_node.get("imt", ""), imls,
                                                                ratios, probs)
            else:
                mean = _floats(_child(node, "meanLRs", path).text, f"{where}, meanLRs")
                covs_nodes = _children(node, "covLRs")
                covs = _floats(covs_nodes[0].text, f"{where}, covLRs") if covs_nodes else None
                functions[fid] = VulnerabilityFunction(
                    id=fid, imt=imls_node.get("imt", ""), imls=imls, mean_loss_ratios=mean,
                    covs=covs, distribution=dist)  # type: ignore[arg-type]
        except ValueError as exc:
            raise InputFileError(f"{where}: {exc}") from exc
    if not functions:
        raise InputFileError(f"{path}: the vulnerability model has no <vulnerabilityFunction>")
    return VulnerabilityModel(id=model.get("id", ""), loss_type=model.get("lossCategory", "structural"),
                              functions=functions, source=str(path))


# --------------------------------------------------------------------------- #
# consequences
# --------------------------------------------------------------------------- #

#: what each consequence multiplies (OpenQuake ``scientific.consequence``)
CONSEQUENCE_SCALE = {
    "losses": "value", "collapsed": "number", "non_operational": "number",
    "injured": "occupants", "fatalities": "occupants", "homeless": "residents",
}


def consequence_scale(name: str) -> str:
    """What consequence ``name`` multiplies: ``value``, ``number``, ``occupants`` or ``residents``.

    ``losses*`` are values (the engine's convention); the Hazus severities
    ``severity_1..4`` are people indoors, i.e. occupants.
    """
    if name.startswith("losses"):
        return "value"
    if name.startswith("severity_"):
        return "occupants"
    return CONSEQUENCE_SCALE[name]


@dataclass(frozen=True, eq=False)
class ConsequenceTable:
    """Consequence ratios by (consequence, loss type, risk id) per limit state."""

    limit_states: tuple[str, ...]
    ratios: dict[tuple[str, str, str], FloatArray]  # (consequence, loss_type, risk_id) -> (n_states,)
    sources: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted({k[0] for k in self.ratios}))


def read_consequences(paths: list[str | Path], limit_states: tuple[str, ...]) -> ConsequenceTable:
    """Read consequence CSVs: ``risk_id|taxonomy, consequence, [loss_type], [peril], <states>``.

    Rows without a loss type apply to ``structural``; rows for perils other
    than ground shaking are refused (secondary perils are not modelled).
    """
    ratios: dict[tuple[str, str, str], FloatArray] = {}
    for p in map(Path, paths):
        try:
            handle = p.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise InputFileError(f"{p}: cannot read consequences: {exc}") from exc
        with handle:
            reader = csv.DictReader(csv_lines(handle))
            cols = reader.fieldnames or []
            key = "risk_id" if "risk_id" in cols else "taxonomy"
            missing = [c for c in (key, "consequence", *limit_states) if c not in cols]
            if missing:
                raise InputFileError(f"{p}: missing column(s) {missing}")
            for line, row in enumerate(reader, start=2):
                name = row["consequence"]
                if name not in CONSEQUENCE_SCALE and not name.startswith("losses"):
                    raise InputFileError(f"{p}, line {line}: unknown consequence {name!r}; known: "
                                         f"{sorted(CONSEQUENCE_SCALE)}")
                peril = row.get("peril") or "groundshaking"
                if peril != "groundshaking":
                    raise InputFileError(f"{p}, line {line}: peril {peril!r} is not modelled "
                                         "(ground shaking only)")
                lt = row.get("loss_type") or "structural"
                ratios[(name, lt, row[key])] = np.array(
                    [_float(row[s], f"{p}, line {line}, column {s!r}") for s in limit_states])
    return ConsequenceTable(limit_states=limit_states, ratios=ratios,
                            sources=tuple(str(p) for p in paths))


def read_taxonomy_mapping(path: str | Path | None, taxonomies: set[str]) -> dict[str, list[tuple[str, float]]]:
    """Taxonomy -> [(risk id, weight)] from an OpenQuake ``taxonomy_mapping_csv``.

    Columns ``taxonomy``, ``risk_id`` (or the pre-3.13 ``conversion``) and an
    optional ``weight`` (default 1); each taxonomy's weights sum to 1 and every
    taxonomy of the exposure is mapped.  Without a file each taxonomy is its
    own risk id.
    """
    if path is None:
        return {t: [(t, 1.0)] for t in taxonomies}
    p = Path(path)
    out: dict[str, list[tuple[str, float]]] = {}
    try:
        handle = p.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read the taxonomy mapping: {exc}") from exc
    with handle:
        for line, row in enumerate(csv.DictReader(csv_lines(handle)), start=2):
            risk = row.get("risk_id") or row.get("conversion")
            if not row.get("taxonomy") or not risk:
                raise InputFileError(f"{p}, line {line}: taxonomy and risk_id are required")
            weight = _float(row.get("weight") or "1", f"{p}, line {line}, weight")
            out.setdefault(row["taxonomy"], []).append((risk, weight))
    for taxo, pairs in out.items():
        if abs(sum(w for _, w in pairs) - 1.0) > 1e-6:
            raise InputFileError(f"{p}: the weights of taxonomy {taxo!r} do not sum to 1")
    missing = taxonomies - set(out)
    if missing:
        raise InputFileError(f"{p}: taxonomies {sorted(missing)} of the exposure are not mapped")
    return out
