"""A loss estimate as JSON, CSV, GeoJSON and a map.

The JSON document (``quakewatch loss --json``, ``DecisionService.EstimateLoss``)
has ``assets`` (one object per asset: ``id``, ``lon``, ``lat``, ``taxonomy``,
``number``, ``damage`` {loss type: {state: fraction}}, ``losses`` {loss type:
value}, ``casualties`` {name: people}, ``other``) and ``totals``
(``damage`` {loss type: {state: buildings}}, ``losses``, ``casualties``,
``other``: the expected totals; ``distribution``: mean, std and 5/50/95th
percentiles of each total over the events or realisations), plus
``n_events`` and ``provenance``.  Callers add their own top-level keys (PAGER
alert, response level, relief needs) with ``extra``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .estimate import LossEstimate

__all__ = ["to_document", "write_csv", "write_geojson", "write_map", "write_outputs"]


def _totals(est: LossEstimate) -> dict[str, Any]:
    damage: dict[str, dict[str, float]] = {}
    flat: dict[str, dict[str, float]] = {"losses": {}, "casualties": {}, "other": {}}
    for key, summary in est.totals.items():
        head, _, tail = key.partition(":")
        if head in est.damage:
            damage.setdefault(head, {})[tail] = summary.mean
        elif head == "losses":
            (flat["casualties"] if tail in ("occupants", "residents") else flat["losses"])[tail] = summary.mean
    for name, values in est.casualties.items():
        flat["casualties"].setdefault(name, float(values.sum()))
    for name, values in est.other.items():
        flat["other"][name] = float(values.sum())
    for lt, values in est.losses.items():
        flat["losses"].setdefault(lt, float(values.sum()))
    return {"damage": damage, **flat,
            "distribution": {k: v.as_dict() for k, v in est.totals.items()}}


def to_document(est: LossEstimate, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready document described in the module docstring."""
    assets = []
    for i in range(est.n_assets):
        assets.append({
            "id": str(est.asset_ids[i]), "lon": float(est.lon[i]), "lat": float(est.lat[i]),
            "taxonomy": str(est.taxonomy[i]), "number": float(est.number[i]),
            "damage": {lt: {s: float(fr[i, k]) for k, s in enumerate(est.damage_states)}
                       for lt, fr in est.damage.items()},
            "losses": {lt: float(v[i]) for lt, v in est.losses.items()},
            "casualties": {n: float(v[i]) for n, v in est.casualties.items()},
            "other": {n: float(v[i]) for n, v in est.other.items()},
        })
    doc: dict[str, Any] = {"assets": assets, "totals": _totals(est), "n_events": est.n_events,
                           "damage_states": list(est.damage_states), "provenance": est.provenance}
    if extra:
        doc.update(extra)
    return doc


def _columns(est: LossEstimate) -> list[tuple[str, Any]]:
    cols: list[tuple[str, Any]] = []
    for lt, fr in est.damage.items():
        for k, s in enumerate(est.damage_states):
            cols.append((f"{lt}_{s}", fr[:, k]))
    for group in (est.losses, est.casualties, est.other):
        for name, values in group.items():
            cols.append((name.replace(":", "_") if group is not est.losses else f"loss_{name}", values))
    return cols


def write_csv(est: LossEstimate, path: str | Path) -> Path:
    """One row per asset: identity, damage fractions, losses, casualties."""
    path = Path(path)
    cols = _columns(est)
    with path.open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["id", "lon", "lat", "taxonomy", "number", *(c for c, _ in cols)])
        for i in range(est.n_assets):
            w.writerow([est.asset_ids[i], f"{est.lon[i]:.5f}", f"{est.lat[i]:.5f}", est.taxonomy[i],
                        repr(float(est.number[i])), *(repr(float(v[i])) for _, v in cols)])
    return path


def write_geojson(est: LossEstimate, path: str | Path) -> Path:
    """A FeatureCollection of asset points with the CSV's columns as properties."""
    path = Path(path)
    cols = _columns(est)
    features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(est.lon[i]), float(est.lat[i])]},
        "properties": {"id": str(est.asset_ids[i]), "taxonomy": str(est.taxonomy[i]),
                       "number": float(est.number[i]), **{c: float(v[i]) for c, v in cols}},
    } for i in range(est.n_assets)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def write_map(est: LossEstimate, path: str | Path) -> Path:
    """Loss map PNG (optional extra: matplotlib): assets coloured by loss ratio."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional extra
        raise RuntimeError("the loss map needs matplotlib: pip install 'quakewatch[plot]'") from exc
    import numpy as np

    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 6))
    if est.losses:
        lt, values = next(iter(est.losses.items()))
        label = f"expected {lt} loss"
    else:
        lt, fr = next(iter(est.damage.items()))
        values, label = fr[:, -1] * est.number, f"buildings in {est.damage_states[-1]}"
    order = np.argsort(values)
    sc = ax.scatter(est.lon[order], est.lat[order], c=values[order], s=8, cmap="inferno_r")
    fig.colorbar(sc, ax=ax, label=label)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(str(est.provenance.get("name") or est.provenance.get("job") or "loss estimate"))
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def write_outputs(est: LossEstimate, directory: str | Path, *, extra: dict[str, Any] | None = None,
                  map_png: bool = False) -> list[Path]:
    """``estimate.json``, ``assets.csv``, ``assets.geojson`` (and ``loss_map.png``) in ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "estimate.json").write_text(json.dumps(to_document(est, extra), indent=1, default=str))
    out = [d / "estimate.json", write_csv(est, d / "assets.csv"), write_geojson(est, d / "assets.geojson")]
    if map_png:
        out.append(write_map(est, d / "loss_map.png"))
    return out
