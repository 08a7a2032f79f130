"""The ``quakewatch`` command line.

Every query command takes ``--server``/``--token`` (or ``QUAKEWATCH_SERVER``,
``QUAKEWATCH_TOKEN``) and ``--json``. ``serve``, ``token`` and ``demo`` work on a
data directory (and optional ``--db`` URL) directly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import grpc

DEFAULT_SERVER = "127.0.0.1:50051"


def _client_args(p: argparse.ArgumentParser, *, json: bool = True) -> None:
    p.add_argument("--server", default=os.environ.get("QUAKEWATCH_SERVER", DEFAULT_SERVER), help="HOST:PORT (env QUAKEWATCH_SERVER)")
    p.add_argument("--token", default=os.environ.get("QUAKEWATCH_TOKEN", ""), help="bearer token (env QUAKEWATCH_TOKEN)")
    p.add_argument("--tls-ca", type=Path, help="CA certificate (PEM) that signed the server's certificate")
    p.add_argument("--tls-cert", type=Path, help="client certificate (PEM) for mutual TLS")
    p.add_argument("--tls-key", type=Path, help="client key (PEM) for mutual TLS")
    if json:
        p.add_argument("--json", action="store_true", help="machine-readable output")


def _options(a: argparse.Namespace) -> Any:
    from .client import ClientOptions

    if not a.token:
        raise SystemExit("--token: a bearer token is required (or set QUAKEWATCH_TOKEN); create one with 'quakewatch token create'")
    return ClientOptions(a.server, a.token, a.tls_ca, a.tls_cert, a.tls_key)


def _quake_arg(text: str) -> tuple[float, float]:
    try:
        m, d = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected M,DIST_KM such as 6.0,30; got {text!r}") from None
    return m, d


def _event_arg(text: str) -> tuple[float, float, float, float]:
    try:
        lon, lat, depth, mag = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LON,LAT,DEPTH_KM,MW such as 113.1,37.2,10,5.5; got {text!r}") from None
    return lon, lat, depth, mag


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="quakewatch", description="Structural-health monitoring and earthquake emergency decision support.")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    sub = ap.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the server")
    s.add_argument("--listen", default="127.0.0.1:50051", help="HOST:PORT to listen on (port 0 = any free port)")
    s.add_argument("--data-dir", type=Path, default=Path("./quakewatch-data"))
    s.add_argument("--db", help="database URL (default: SQLite at DATA_DIR/quakewatch.db), e.g. postgresql://user@host/db")
    s.add_argument("--tls-cert", type=Path)
    s.add_argument("--tls-key", type=Path)
    s.add_argument("--tls-client-ca", type=Path, help="require client certificates signed by this CA (mutual TLS)")
    s.add_argument("--retention-days", type=float)
    s.add_argument("--network-code", default="QW", help="SEED network code for new structures")
    s.add_argument("--no-events", action="store_true", help="do not run event detection")
    s.add_argument("--no-health", action="store_true", help="do not run structural health (modal analysis per window); with --no-events an archive-only ingest node")

    t = sub.add_parser("token", help="manage bearer tokens (works on the database directly)")
    tsub = t.add_subparsers(dest="token_command", required=True)
    tc = tsub.add_parser("create", help="create a token and print it (only the token)")
    tc.add_argument("--data-dir", type=Path, default=Path("./quakewatch-data"))
    tc.add_argument("--db")
    tc.add_argument("--role", required=True, choices=["admin", "owner", "hq", "drill", "gateway"])
    tc.add_argument("--tenant")
    tc.add_argument("--description", default="")
    tl = tsub.add_parser("list", help="list tokens: id, role, tenant, created, revoked (never the secret)")
    tl.add_argument("--data-dir", type=Path, default=Path("./quakewatch-data"))
    tl.add_argument("--db")
    tl.add_argument("--json", action="store_true")
    tr = tsub.add_parser("revoke", help="revoke a token by its id (the part after 'qw_')")
    tr.add_argument("--data-dir", type=Path, default=Path("./quakewatch-data"))
    tr.add_argument("--db")
    tr.add_argument("token_id")

    m = sub.add_parser("simulate", help="stream synthetic structural vibration like a field gateway, or replay an earthquake across the network")
    _client_args(m)
    m.add_argument("--kind", choices=["bridge", "dam", "mine", "building"], default="bridge")
    m.add_argument("--structure-id", action="append", default=[],
                   help="the structure to stream (required without --event); with --event repeat it to choose structures (default: every located one)")
    m.add_argument("--channels", type=int, default=3)
    m.add_argument("--rate", type=float, default=200.0, help="sample rate, Hz")
    m.add_argument("--duration", type=float, default=60.0, help="seconds of data")
    m.add_argument("--block", type=float, default=1.0, help="seconds per block")
    m.add_argument("--register", action="store_true", help="register the structure and its channels first")
    m.add_argument("--speed", choices=["max", "realtime"], default="max")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--stream-id", default="default")
    m.add_argument("--retry-timeout", type=float, default=120.0, help="give up after this long without a connection, s")
    m.add_argument("--quake", type=_quake_arg, metavar="M,DIST_KM", help="add an earthquake: moment magnitude and epicentral distance, e.g. 6.0,30")
    m.add_argument("--quake-at", type=float, metavar="S", help="P arrival (--quake) or origin time (--event), seconds into the record (default: the middle)")
    m.add_argument("--quake-depth", type=float, default=10.0, metavar="KM", help="hypocentre depth, km")
    m.add_argument("--event", type=_event_arg, metavar="LON,LAT,DEPTH_KM,MW",
                   help="replay a network earthquake: every located structure streams its registered channels with P and S at the 1-D model's times")
    m.add_argument("--velocity-model", default="iasp91", help="1-D model of the --event travel times")

    r = sub.add_parser("replay", help="stream miniSEED files through the ingest path")
    _client_args(r)
    r.add_argument("--structure-id", required=True)
    r.add_argument("--stream-id", default="replay")
    r.add_argument("--register", action="store_true", help="register channels named after the files' SEED ids")
    r.add_argument("--block", type=float, default=1.0)
    r.add_argument("files", nargs="+", type=Path)

    lay = sub.add_parser("layout", help="import or export structures and sensor layouts (CSV or JSON)")
    lsub = lay.add_subparsers(dest="layout_command", required=True)
    li = lsub.add_parser("import", help="register the structures and channels described in files")
    _client_args(li)
    li.add_argument("--dry-run", action="store_true", help="only check the files")
    li.add_argument("files", nargs="+", type=Path)
    le = lsub.add_parser("export", help="print a structure's layout as CSV")
    _client_args(le)
    le.add_argument("--structure-id", required=True, action="append", help="repeat for several structures")

    st = sub.add_parser("status", help="per-channel data quality of a structure")
    _client_args(st)
    st.add_argument("--structure-id", required=True)

    ls = sub.add_parser("structures", help="list the structures this token can see")
    _client_args(ls)

    ev = sub.add_parser("events", help="detected events, newest first")
    _client_args(ev)
    ev.add_argument("--structure-id", default="", help="only this structure")
    ev.add_argument("--limit", type=int, default=50, help="at most this many events (1..1000)")

    w = sub.add_parser("watch", help="follow events live: opened, updated (intensity), closed")
    _client_args(w)
    w.add_argument("--structure-id", default="", help="only this structure")
    w.add_argument("--count", type=int, default=0, help="stop after this many messages (0 = never)")
    w.add_argument("--until-closed", type=int, default=0, metavar="N", help="stop after N events have closed")
    w.add_argument("--timeout", type=float, default=0.0, help="stop after this many seconds (0 = never)")

    au = sub.add_parser("audit", help="verify the audit trail's hash chain (admin)")
    _client_args(au)

    d = sub.add_parser("demo", help="run a server in-process, stream a demo bridge, dam and mine, show the results")
    d.add_argument("--data-dir", type=Path, help="keep the demo's data here (default: a temporary directory)")
    d.add_argument("--json", action="store_true")
    d.add_argument("--duration", type=float, default=60.0, help="seconds of data per structure (>= 45 for the earthquake)")

    he = sub.add_parser("health", help="structural health of a structure: status, reasons, latest modes, baseline")
    _client_args(he)
    he.add_argument("structure_id", metavar="ID")
    he.add_argument("--trend", action="store_true", help="the tracked modes' frequencies over the stored windows and "
                    "their sensitivity to the covariates (temperature)")
    he.add_argument("--since", metavar="ISO", help="--trend: windows ending at or after this time (default: all)")
    he.add_argument("--until", metavar="ISO", help="--trend: windows ending before this time")
    he.add_argument("--plot", type=Path, metavar="PNG", help="--trend: frequency against time and temperature (matplotlib extra)")
    he.add_argument("--csv", type=Path, metavar="FILE", help="--trend: one row per window (covariates, each mode's frequency)")

    mo = sub.add_parser("modal", help="identify modes (SSI-cov): frequencies, damping, mode shapes of a record")
    src = mo.add_mutually_exclusive_group(required=True)
    src.add_argument("files", nargs="*", default=[], type=Path, metavar="FILE", help="miniSEED or SAC files, directories or globs; or one .npy/.csv")
    src.add_argument("--structure-id", help="the latest window identified by the server (or the one holding --start, an ISO time)")
    _client_args(mo, json=False)
    mo.add_argument("--json", action="store_true", help="machine-readable output")
    mo.add_argument("--fs", type=float, metavar="HZ", help="sample rate (required for .npy/.csv)")
    mo.add_argument("--method", choices=("ssi-cov", "efdd"), default="ssi-cov", help="automated SSI-cov (default) or EFDD, an independent cross-check")
    mo.add_argument("--max-order", type=int, metavar="N", help="highest model order (default 100)")
    mo.add_argument("--weighting", choices=("none", "cva"), help="SSI-cov weighting (default none; cva: lower scatter, "
                    "needs every channel as a reference)")
    mo.add_argument("--svd", choices=("randomized", "exact"), help="leading singular subspace of the Toeplitz matrix "
                    "(default randomized, on FFT products; exact: the dense eigen-decomposition)")
    mo.add_argument("--block-rows", type=int, metavar="I", help="block rows of the Toeplitz matrix (default: from rate, channels, "
                    "record length and the slowest mode)")
    mo.add_argument("--lowest-hz", type=float, metavar="F", help="the slowest mode's frequency when known (default: the record's "
                    "lowest spectral peak); the correlation lags span 0.6 of its period, 1.2 periods below 8 channels")
    mo.add_argument("--highpass", type=float, metavar="HZ", help="remove drift first: zero-phase 4th-order Butterworth "
                    "high-pass at HZ (a third of the slowest mode or less)")
    mo.add_argument("--decimate", type=int, metavar="Q", help="keep every Q-th sample after a zero-phase anti-alias filter "
                    "(records sampled far above their modes)")
    mo.add_argument("--channels", metavar="LIST", help="channels to analyse: comma list of ids or patterns such as "
                    "'XX.BR1.*.HN?' (default: every motion sensor; .npy/.csv: every column)")
    mo.add_argument("--ref-channels", metavar="LIST", help="reference channels: comma list of indices or channel ids (default: chosen by identify)")
    mo.add_argument("--freq-range", metavar="LOW,HIGH", help="report modes in this band only, Hz")
    mo.add_argument("--no-uncertainty", action="store_true", help="skip the jackknife standard deviations")
    mo.add_argument("--start", metavar="TIME", help="window start: ISO time or seconds from the start of the data")
    mo.add_argument("--end", metavar="TIME", help="window end: ISO time or seconds from the start of the data")
    mo.add_argument("--plot", type=Path, metavar="FILE.png", help="write the stabilisation diagram (needs matplotlib)")
    from .loss import add_parser as add_loss_parser

    add_loss_parser(sub)
    from .dispatch import add_parser as add_dispatch_parser
    from .respond import add_parsers as add_plan_parsers

    add_plan_parsers(sub)
    add_dispatch_parser(sub)
    from .alerts import add_parser as add_alerts_parser
    from .mine import add_parser as add_mine_parser

    from .activation import add_parser as add_activation_parser
    from .drill import add_parser as add_drill_parser

    add_mine_parser(sub, _client_args)
    add_alerts_parser(sub, _client_args)
    add_activation_parser(sub, _client_args)
    add_drill_parser(sub, _client_args)
    return ap


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * a.verbose, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    try:
        return int(_dispatch(a) or 0)
    except grpc.RpcError as exc:
        print(f"error: {exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (``quakewatch events --json | head``): no traceback, and no
        # second error when Python flushes stdout at exit (Python docs, "Note on SIGPIPE")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _dispatch(a: argparse.Namespace) -> int | None:
    if a.command == "serve":
        return _serve(a)
    if a.command == "token":
        return _token(a)
    if a.command == "simulate":
        return _simulate(a)
    if a.command == "replay":
        from .replay import replay_command

        return replay_command(a, _options(a))
    if a.command == "layout":
        return _layout(a)
    if a.command == "status":
        return _status(a)
    if a.command == "structures":
        return _structures(a)
    if a.command == "audit":
        return _audit(a)
    if a.command == "events":
        from .events import events_command

        return events_command(a, _options(a))
    if a.command == "watch":
        from .events import watch_command

        return watch_command(a, _options(a))
    if a.command == "drill":
        from .drill import drill_command

        return drill_command(a, _options(a) if a.drill_command != "run" else None)
    if a.command == "demo":
        from .demo import run_demo

        return run_demo(a.data_dir, a.json, a.duration)
    if a.command == "health":
        if a.trend:
            from .health_trend import trend_command

            return trend_command(a, _options(a))
        if a.since or a.until or a.plot is not None or a.csv is not None:
            print("error: health: --since, --until, --plot and --csv go with --trend", file=sys.stderr)
            return 2
        from .health import health_command

        return health_command(a, _options(a))
    if a.command == "modal":
        from .modal import modal_command

        return modal_command(a)
    if a.command == "loss":
        from .loss import loss_command

        return loss_command(a)
    if a.command == "plan":
        from .respond import plan_command

        return plan_command(a)
    if a.command == "respond":
        from .respond import respond_command

        return respond_command(a)
    if a.command == "dispatch":
        from .dispatch import dispatch_command

        return dispatch_command(a)
    if a.command == "activation":
        from .activation import activation_command

        return activation_command(a, _options(a))
    if a.command == "alerts":
        from .alerts import alerts_command

        return alerts_command(a, _options(a))
    if a.command == "mine":
        from .mine import mine_command

        return mine_command(a, lambda: _options(a))
    raise SystemExit(f"unknown command {a.command}")


def _serve(a: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from quakewatch.server.app import create_server
    from quakewatch.server.settings import EventSettings, HealthSettings, Settings

    try:
        settings = Settings(
            listen=a.listen, data_dir=a.data_dir, db_url=a.db, tls_cert=a.tls_cert, tls_key=a.tls_key, tls_client_ca=a.tls_client_ca,
            retention_days=a.retention_days, network_code=a.network_code, events=EventSettings(enabled=not a.no_events), health=HealthSettings(enabled=not a.no_health),
        )
    except ValidationError as exc:
        raise SystemExit(f"invalid settings: {exc}") from None
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("quakewatch").setLevel(logging.INFO)

    async def run() -> None:
        server, port = await create_server(settings)
        await server.start()
        print(f"quakewatch listening on {a.listen.rsplit(':', 1)[0]}:{port}", file=sys.stderr, flush=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.stop()))
        await server.wait_for_termination()

    asyncio.run(run())
    return 0


def _engine(a: argparse.Namespace) -> Any:
    from quakewatch.server.storage import migrate
    from quakewatch.server.storage.engine import default_url, make_engine

    a.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(a.db or default_url(a.data_dir))
    migrate.upgrade(engine)
    return engine


def _token(a: argparse.Namespace) -> int:
    from quakewatch.server.storage import audit, tokens

    engine = _engine(a)
    if a.token_command == "create":
        try:
            token, p = tokens.create_token(engine, a.role, a.tenant, a.description)
        except ValueError as exc:
            raise SystemExit(f"--{exc}") from None
        audit.append(engine, actor="cli", role="admin", tenant=None, action="token.create", target=p.token_id, details={"role": p.role.value, "tenant": p.tenant})
        print(token)
        return 0
    if a.token_command == "list":
        from .output import print_json

        rows = [
            {"token_id": t.token_id, "role": t.role, "tenant": t.tenant, "description": t.description, "created_at": t.created_at, "revoked_at": t.revoked_at}
            for t in tokens.list_tokens(engine)
        ]
        if a.json:
            print_json(rows)
        else:
            for r in rows:
                state = f"revoked {r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "active"
                print(f"{r['token_id']}  {r['role']:<8} {r['tenant'] or '-':<20} {r['created_at']:%Y-%m-%d %H:%M}  {state}  {r['description']}")
        return 0
    ok = tokens.revoke_token(engine, a.token_id)
    if ok:
        audit.append(engine, actor="cli", role="admin", tenant=None, action="token.revoke", target=a.token_id)
    print("revoked" if ok else f"no token {a.token_id!r}", file=sys.stderr)
    return 0 if ok else 1


def _with_client(a: argparse.Namespace, call: Any) -> Any:
    """Run ``call(client)`` (a coroutine) on an async client of the command's server."""
    from .client import AsyncClient

    async def run() -> Any:
        async with AsyncClient(_options(a)) as c:
            return await call(c)

    return asyncio.run(run())


def _simulate(a: argparse.Namespace) -> int:
    from .output import print_json
    from .simulate import SimulateOptions, simulate

    if a.channels < 1 or a.rate <= 0 or a.duration <= 0 or a.block <= 0:
        raise SystemExit("--channels, --rate, --duration and --block must be positive")
    if a.event is not None:
        return _simulate_event(a)
    if len(a.structure_id) != 1:
        raise SystemExit("--structure-id: give exactly one (several only with --event)")
    o = SimulateOptions(a.structure_id[0], a.kind, a.channels, a.rate, a.duration, a.block, a.register, a.speed, a.seed, a.stream_id, a.retry_timeout,
                        quake=a.quake, quake_at_s=a.quake_at, quake_depth_km=a.quake_depth)

    summary = _with_client(a, lambda c: simulate(c, o))
    if a.json:
        print_json(summary)
    else:
        print(f"{summary['structure_id']}: {summary['blocks_acked']} blocks / {summary['samples_acked']} samples acknowledged "
              f"({summary['blocks_rejected']} rejected, {summary['reconnects']} reconnects), last sequence {summary['last_acked_sequence']}")
    return 0 if summary["samples_acked"] == summary["samples_expected"] else 1


def _simulate_event(a: argparse.Namespace) -> int:
    from .network_event import NetworkEvent, NetworkOptions, replay_event
    from .output import print_json

    if a.quake is not None or a.register:
        raise SystemExit("--event replays on registered structures: it does not take --quake or --register")
    try:
        ev = NetworkEvent(*a.event)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    o = NetworkOptions(ev, tuple(a.structure_id), a.rate, a.duration, a.block, a.speed, a.seed, a.stream_id,
                       a.quake_at, a.velocity_model, a.retry_timeout)

    summary = _with_client(a, lambda c: replay_event(c, o))
    if a.json:
        print_json(summary)
    else:
        e = summary["event"]
        print(f"Mw {e['magnitude']:.1f} at {e['longitude_deg']:.3f}, {e['latitude_deg']:.3f}, {e['depth_km']:.1f} km, "
              f"origin {e['origin_time_ns'] / 1e9:.2f}")
        for r in summary["structures"]:
            print(f"  {r['structure_id']}: {r['distance_km']:.1f} km, P {(r['p_arrival_time_ns'] - e['origin_time_ns']) / 1e9:.2f} s, "
                  f"S {(r['s_arrival_time_ns'] - e['origin_time_ns']) / 1e9:.2f} s, PGA {r['pga_mps2']:.3g} m/s2, "
                  f"{r['samples_acked']}/{r['samples_expected']} samples acknowledged")
    return 0 if all(r["samples_acked"] == r["samples_expected"] for r in summary["structures"]) else 1


def _layout(a: argparse.Namespace) -> int:
    from quakewatch.v1 import registry_pb2

    from . import layout
    from .client import Client
    from .output import print_json

    if a.layout_command == "import":
        layouts: list[layout.StructureLayout] = []
        errors: list[str] = []
        for f in a.files:
            try:
                layouts += layout.load(f)
            except layout.LayoutError as exc:
                errors += exc.errors
            except OSError as exc:
                errors.append(f"{f}: {exc.strerror}")
        if errors:
            print("\n".join(errors), file=sys.stderr)
            return 1
        summary = [{"structure_id": lay.structure.structure_id, "channels": len(lay.channels)} for lay in layouts]
        if not a.dry_run:
            with Client(_options(a)) as c:
                for lay, item in zip(layouts, summary, strict=True):
                    put_structure, put_channels = layout.to_requests(lay)
                    item["created"] = c.registry.PutStructure(put_structure).created
                    item["seed_ids"] = [ch.seed_id for ch in c.registry.PutChannels(put_channels).channels]
        if a.json:
            print_json({"structures": summary, "dry_run": a.dry_run})
        else:
            for item in summary:
                print(f"{item['structure_id']}: {item['channels']} channels" + (" (checked only)" if a.dry_run else " registered"))
        return 0
    rows = []
    with Client(_options(a)) as c:
        for sid in a.structure_id:
            r = c.registry.GetStructure(registry_pb2.GetStructureRequest(structure_id=sid))
            rows += layout.export_rows(r.structure, list(r.channels))
    if a.json:
        print_json(rows)
    else:
        sys.stdout.write(layout.write_csv(rows))
    return 0


def _status(a: argparse.Namespace) -> int:
    from quakewatch.v1 import monitor_pb2

    from .client import Client
    from .output import print_json, print_status, to_dict

    with Client(_options(a)) as c:
        r = c.monitor.GetStructureStatus(monitor_pb2.GetStructureStatusRequest(structure_id=a.structure_id))
    d = to_dict(r.status)
    print_json(d) if a.json else print_status(d)
    return 0


def _structures(a: argparse.Namespace) -> int:
    from quakewatch.v1 import registry_pb2

    from .client import Client
    from .output import print_json, to_dict

    with Client(_options(a)) as c:
        r = c.registry.ListStructures(registry_pb2.ListStructuresRequest())
    rows = [to_dict(s) for s in r.structures]
    if a.json:
        print_json(rows)
    else:
        for s in rows:
            print(f"{s['structure_id']:<24} {s['kind'].removeprefix('STRUCTURE_KIND_').lower():<10} {s['tenant']:<16} {s['network_code']}.{s['station_code']}  {s['name']}")
    return 0


def _audit(a: argparse.Namespace) -> int:
    from quakewatch.v1 import audit_pb2

    from .client import Client
    from .output import print_json, to_dict

    with Client(_options(a)) as c:
        r = c.audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest())
    if a.json:
        print_json(to_dict(r))
    else:
        print(f"audit chain {'OK' if r.ok else 'BROKEN'}: {r.entries} entries {r.detail}")
    return 0 if r.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
