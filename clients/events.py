"""``quakewatch events`` and ``quakewatch watch``: detected events, stored and live."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import grpc

from quakewatch.v1 import events_pb2

from .client import Client, ClientOptions
from .output import print_json, to_dict

NS = 1_000_000_000


def short_name(value: str, prefix: str) -> str:
    return value.removeprefix(prefix).lower()


def event_line(e: dict[str, Any], change: str = "") -> str:
    """One line per event for people."""
    t = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(e["trigger_time_ns"]) / NS))
    cls = short_name(e["classification"], "EVENT_CLASS_")
    state = short_name(e["state"], "EVENT_STATE_")
    parts = [f"{t}Z", f"{e['structure_id']:<16}", f"{change or state:<8}", f"{cls:<12}"]
    if e.get("max_degree"):
        parts.append(f"intensity {e['max_intensity']:.1f} ({e['max_degree']})")
    if e.get("max_pga_mps2"):
        parts.append(f"PGA {e['max_pga_mps2']:.3g} m/s2")
    if e.get("duration_s"):
        parts.append(f"{e['duration_s']:.1f} s")
    parts.append(f"{len(e.get('triggered_channel_ids', []))} ch")
    parts.append(e["event_id"][:12])
    return "  ".join(parts)


def events_command(a: argparse.Namespace, o: ClientOptions) -> int:
    if not 1 <= a.limit <= 1000:
        raise SystemExit(f"--limit: must be 1..1000, got {a.limit}")
    with Client(o) as c:
        r = c.events.ListEvents(events_pb2.ListEventsRequest(structure_id=a.structure_id, page_size=a.limit))
    rows = [to_dict(e) for e in r.events]
    if a.json:
        print_json(rows)
    else:
        for e in rows:
            print(event_line(e))
        if not rows:
            print("no events", file=sys.stderr)
    return 0


def follow(call: Any, handle: Any) -> None:
    """Feed each message of a server stream to ``handle`` until it returns True (the call
    is then cancelled) or the stream ends; a deadline (``--timeout``) ends it quietly."""
    try:
        for msg in call:
            if handle(msg):
                call.cancel()
                break
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # type: ignore[attr-defined]
            raise


def watch_command(a: argparse.Namespace, o: ClientOptions) -> int:
    """Print each message as it arrives (one JSON object per line with --json)."""
    import json

    seen = closed = 0

    def handle(msg: events_pb2.WatchResponse) -> bool:
        nonlocal seen, closed
        d = to_dict(msg)
        change = short_name(d["change"], "EVENT_CHANGE_")
        sys.stdout.write((json.dumps(d) if a.json else event_line(d["event"], change)) + "\n")
        sys.stdout.flush()
        seen += 1
        closed += msg.change == events_pb2.EVENT_CHANGE_CLOSED
        return bool((a.count and seen >= a.count) or (a.until_closed and closed >= a.until_closed))

    with Client(o) as c:
        follow(c.events.Watch(events_pb2.WatchRequest(structure_id=a.structure_id), timeout=a.timeout or None), handle)
    return 0
