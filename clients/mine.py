"""``quakewatch mine``: a mine's seismic risk grade and catalogue, from a catalogue CSV.

``mine status ID --catalog FILE`` evaluates the warning rule table at a time
(default: the last event) and prints the grade, its reasons and the
indicators; ``mine catalog check FILE`` validates a catalogue and summarises
it; ``mine catalog timeline FILE`` lists every grade change with the event that
caused it; these run in this process.  ``mine status ID`` without
``--catalog``, ``mine events ID``, ``mine schedule import ID FILE``, ``mine catalog
import ID FILE`` and ``mine catalog export ID`` talk to a server (``MineService``),
which locates events from the mine array's stream, stores the catalogue and every
grade change.  ``--volume X0,X1,Y0,Y1,Z0,Z1`` restricts ``mine status`` to a box.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .output import print_json


def add_parser(sub: Any, client_args: Any) -> None:
    m = sub.add_parser("mine", help="mine seismicity: risk grade, indicators, catalogue")
    msub = m.add_subparsers(dest="mine_command", required=True)
    st = msub.add_parser("status", help="warning grade (none/weak/medium/strong), reasons and indicators")
    st.add_argument("mine_id", metavar="ID", help="the mine (a label in the output)")
    st.add_argument("--catalog", type=Path, metavar="CSV",
                    help="evaluate this file here (event_id,time,x_m,y_m,z_m,magnitude[,energy_j][,moment_nm][,type]); "
                         "without it: ask the server (MineService)")
    st.add_argument("--rules", type=Path, metavar="YAML", help="with --catalog: warning rule table (default: the shipped example)")
    st.add_argument("--at", metavar="ISO", help="evaluate at this time (default: now on a server, the last event of a file)")
    st.add_argument("--volume", metavar="X0,X1,Y0,Y1,Z0,Z1",
                    help="only the events inside this box (metres, the mine's frame); write --volume=-100,... when it starts negative")
    client_args(st)
    evs = msub.add_parser("events", help="a mine's stored events, newest first, with how each was located, sized and classified")
    evs.add_argument("mine_id", metavar="ID")
    evs.add_argument("--start", metavar="ISO")
    evs.add_argument("--end", metavar="ISO")
    evs.add_argument("--limit", type=int, default=20, help="at most this many (1..10000)")
    client_args(evs)
    cat = msub.add_parser("catalog", help="check a catalogue, or list its grade changes")
    csub = cat.add_subparsers(dest="catalog_command", required=True)
    ch = csub.add_parser("check", help="validate a catalogue CSV and summarise it")
    ch.add_argument("file", type=Path)
    ch.add_argument("--json", action="store_true")
    tl = csub.add_parser("timeline", help="every warning grade change, with the event that caused it and why")
    tl.add_argument("file", type=Path)
    tl.add_argument("--rules", type=Path, metavar="YAML")
    tl.add_argument("--json", action="store_true")
    im = csub.add_parser("import", help="add a catalogue CSV to a mine on the server (grade changes are evaluated and stored)")
    im.add_argument("mine_id", metavar="ID")
    im.add_argument("file", type=Path)
    client_args(im)
    ex = csub.add_parser("export", help="a mine's catalogue from the server, as CSV")
    ex.add_argument("mine_id", metavar="ID")
    ex.add_argument("--start", metavar="ISO")
    ex.add_argument("--end", metavar="ISO")
    client_args(ex, json=False)
    sch = msub.add_parser("schedule", help="a mine's blasting schedule (live events are classified against it)")
    ssub = sch.add_subparsers(dest="schedule_command", required=True)
    si = ssub.add_parser("import", help="add blasting windows from a CSV (start,end,x_m,y_m,z_m,radius_m[,face_id])")
    si.add_argument("mine_id", metavar="ID")
    si.add_argument("file", type=Path)
    client_args(si)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")


def _when(text: str, flag: str) -> datetime:
    """An ISO 8601 time with a zone; a clear error (exit status 2) otherwise."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        print(f"error: {flag}: give an ISO 8601 time with a zone (Z or +08:00), got {text!r}", file=sys.stderr)
        raise SystemExit(2)
    return t


def _volume(text: str | None) -> tuple[float, ...] | None:
    """``--volume X0,X1,Y0,Y1,Z0,Z1``; a clear error (exit status 2) otherwise."""
    if text is None:
        return None
    try:
        v = tuple(float(x) for x in text.split(","))
    except ValueError:
        v = ()
    if len(v) != 6 or not all(math.isfinite(x) for x in v) or not (v[0] < v[1] and v[2] < v[3] and v[4] < v[5]):
        print(f"error: --volume: give X0,X1,Y0,Y1,Z0,Z1 in metres with each min < max, got {text!r}", file=sys.stderr)
        raise SystemExit(2)
    return v


def _remote(a: argparse.Namespace, options: Any) -> int:
    from quakewatch.v1 import mine_pb2

    from .client import Client
    from .output import to_dict

    with Client(options) as c:
        if a.mine_command == "status":
            req = mine_pb2.GetMineStatusRequest(mine_id=a.mine_id)
            if a.at:
                req.time.FromDatetime(_when(a.at, "--at"))
            box = _volume(a.volume)
            if box is not None:
                req.volume.CopyFrom(mine_pb2.Volume(x_min_m=box[0], x_max_m=box[1], y_min_m=box[2], y_max_m=box[3],
                                                    z_min_m=box[4], z_max_m=box[5]))
            r = c.mine.GetMineStatus(req)
            doc = {**to_dict(r), "indicators": json.loads(r.indicators_json)}
            doc.pop("indicators_json", None)
            if a.json:
                print_json(doc)
            else:
                print(f"{r.mine_id} at {doc['time']}: grade {r.grade.upper()} ({r.rule_table}; {r.events} events stored)")
                for reason in r.reasons:
                    print(f"  because {reason}")
                for ch in r.changes:
                    print(f"  {ch.time.ToDatetime().isoformat()}Z {ch.event_id}: {ch.previous} -> {ch.grade}")
            return 0
        if a.mine_command == "events":
            if not 1 <= a.limit <= 10_000:
                print(f"error: --limit: must be 1..10000, got {a.limit}", file=sys.stderr)
                return 2
            lreq = mine_pb2.ListMineEventsRequest(mine_id=a.mine_id, limit=a.limit)
            if a.start:
                lreq.start_time.FromDatetime(_when(a.start, "--start"))
            if a.end:
                lreq.end_time.FromDatetime(_when(a.end, "--end"))
            evs = c.mine.ListEvents(lreq).events
            docs = [{**to_dict(e), "details": json.loads(e.details_json or "{}")} for e in evs]
            for d in docs:
                d.pop("details_json", None)
            if a.json:
                print_json(docs)
            else:
                for e, d in zip(evs, docs, strict=True):
                    det = d["details"]
                    size = f"{det.get('magnitude_type', 'M')} {e.magnitude:.2f}"
                    where = f"({e.x_m:.0f}, {e.y_m:.0f}, {e.z_m:.0f}) m" + (f" +/- {det['sigma_m']:.0f} m" if "sigma_m" in det else "")
                    print(f"{e.time.ToDatetime().isoformat()}Z {e.event_id[:12]} {e.type:<7} {size} at {where} [{e.origin}]")
                    for r in det.get("reasons", []):
                        print(f"    {r}")
            return 0
        if a.mine_command == "schedule":
            try:
                text = a.file.read_text(encoding="utf-8-sig")
            except OSError as exc:
                print(f"error: {a.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
                return 2
            rs = c.mine.ImportBlastingSchedule(mine_pb2.ImportBlastingScheduleRequest(mine_id=a.mine_id, schedule_csv=text))
            if a.json:
                print_json(to_dict(rs))
            else:
                print(f"{a.mine_id}: {rs.added} blasting windows added")
            return 0
        if a.catalog_command == "import":
            r = c.mine.ImportCatalog(mine_pb2.ImportCatalogRequest(mine_id=a.mine_id, catalog_csv=a.file.read_text(encoding="utf-8-sig")))
            if a.json:
                print_json(to_dict(r))
            else:
                print(f"{a.mine_id}: {r.added} events added, {r.already_stored} already stored")
                for ch in r.changes:
                    print(f"  {ch.time.ToDatetime().isoformat()}Z {ch.event_id}: {ch.previous} -> {ch.grade} ({'; '.join(ch.reasons)})")
            return 0
        req = mine_pb2.ExportCatalogRequest(mine_id=a.mine_id)
        if a.start:
            req.start_time.FromDatetime(_when(a.start, "--start"))
        if a.end:
            req.end_time.FromDatetime(_when(a.end, "--end"))
        sys.stdout.write(c.mine.ExportCatalog(req).catalog_csv)
        return 0


def mine_command(a: argparse.Namespace, options: Any = None) -> int:
    if ((a.mine_command == "status" and a.catalog is None) or a.mine_command in ("schedule", "events")
            or (a.mine_command == "catalog" and a.catalog_command in ("import", "export"))):
        return _remote(a, options() if callable(options) else options)
    from quakewatch.server.analysis.mine_catalog import read_catalog
    from quakewatch.server.analysis.mine_warning import load_table, status, timeline
    from quakewatch.server.errors import QuakeWatchError

    try:
        if a.mine_command == "catalog" and a.catalog_command == "check":
            cat = read_catalog(a.file)
            kinds = {k: cat.type.count(k) for k in ("tremor", "blast", "unknown")}
            doc: dict[str, Any] = {"file": str(a.file), "events": len(cat), "types": kinds}
            if len(cat):
                doc.update(first=_iso(float(cat.time_s[0])), last=_iso(float(cat.time_s[-1])),
                           magnitude={"min": float(cat.magnitude.min()), "max": float(cat.magnitude.max())})
            if a.json:
                print_json(doc)
            else:
                print(f"{a.file}: {len(cat)} events ({', '.join(f'{v} {k}' for k, v in kinds.items())})"
                      + (f", {doc['first']} .. {doc['last']}, M {doc['magnitude']['min']:.1f} .. {doc['magnitude']['max']:.1f}" if len(cat) else ""))
            return 0
        table = load_table(a.rules)
        if a.mine_command == "catalog":
            cat = read_catalog(a.file)
            changes = timeline(cat, table)
            rows = [{"time": _iso(c.time_s), "event_id": c.event_id, "from": c.previous.value, "to": c.grade.value,
                     "reasons": list(c.reasons)} for c in changes]
            if a.json:
                print_json({"rule_table": f"{table.id} v{table.version}", "changes": rows})
            else:
                for r in rows:
                    print(f"{r['time']} {r['event_id']}: {r['from']} -> {r['to']}" + (f" ({'; '.join(r['reasons'])})" if r["reasons"] else ""))
            return 0
        cat = read_catalog(a.catalog)
        if a.at:
            t_s = _when(a.at, "--at").timestamp()
        elif len(cat):
            t_s = float(cat.time_s[-1])
        else:
            print("error: the catalogue is empty; give --at", file=sys.stderr)
            return 2
        box = _volume(a.volume)
        start = float(cat.time_s.min()) if len(cat) else None  # the file's coverage, whatever the box
        if box is not None:
            xyz = cat.xyz_m
            cat = cat.select((xyz[:, 0] >= box[0]) & (xyz[:, 0] <= box[1]) & (xyz[:, 1] >= box[2]) & (xyz[:, 1] <= box[3])
                             & (xyz[:, 2] >= box[4]) & (xyz[:, 2] <= box[5]))
        g = status(cat, table, t_s, coverage_start_s=start)
        out = {"mine_id": a.mine_id, "time": _iso(t_s), **g.as_dict()}
    except (QuakeWatchError, ValueError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    if a.json:
        print_json(out)
    else:
        ind = out["indicators"]
        print(f"{a.mine_id} at {out['time']}: grade {out['grade'].upper()} ({out['rule_table']})")
        for r in out["reasons"]:
            print(f"  because {r}")
        shown = {k: v for k, v in ind.items() if k not in ("time_s", "window_s", "reference_s") and v is not None}
        print("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items()))
    return 0
