"""Printing for the CLI: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message


def to_dict(msg: Message) -> dict[str, Any]:
    return json_format.MessageToDict(msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def state_name(value: int | str) -> str:
    s = str(value)
    return s.removeprefix("QUALITY_STATE_")


def print_status(status: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{status['structure_id']}: {state_name(status['state'])}  (blocks {status['blocks_accepted']} accepted, {status['blocks_rejected']} rejected)")
    for col in ("channel", "seed id", "state", "samples", "gaps", "clipped", "spikes", "latency s", "rms", "reasons"):
        t.add_column(col)
    for c in status["channels"]:
        t.add_row(
            c["channel_id"], c["seed_id"], state_name(c["state"]), str(c["samples"]), str(c["gaps"]), str(c["clipped_samples"]), str(c["spikes"]),
            f"{c['latency_s']:.2f}", f"{c['rms']:.3g}", "; ".join(c["reasons"]),
        )
    Console().print(t)
