"""``quakewatch activation``: a running server's plan checklist, and acknowledging it.

``activation show ID`` lists the actions of a plan activation (``DecisionService.Respond``)
with their roles, deadlines, status and escalations, and the plan's notifications with
their delivery status; ``activation ack ID ACTION`` and
``activation done ID ACTION [--note TEXT]`` report back (``UpdateAction``; audited, and done
only once what the action depends on is done). In a drill, participants acknowledge on
the drill server with the tokens it gave them.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from quakewatch.v1 import decision_pb2

from .client import Client, ClientOptions
from .output import print_json, to_dict

NS = 1_000_000_000


def add_parser(sub: Any, client_args: Any) -> None:
    ac = sub.add_parser("activation", help="a plan activation's checklist on a server: show it, acknowledge or complete actions")
    asub = ac.add_subparsers(dest="activation_command", required=True)
    show = asub.add_parser("show", help="the actions: role, deadline, status, escalations")
    client_args(show)
    show.add_argument("activation_id", metavar="ID")
    for verb, status in (("ack", "acknowledged"), ("done", "done")):
        p = asub.add_parser(verb, help=f"mark an action {status}")
        client_args(p)
        p.add_argument("activation_id", metavar="ID")
        p.add_argument("action_id", metavar="ACTION")
        p.add_argument("--note", default="", help="what was done, by whom")
        p.set_defaults(status=status)


def _when(ts: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ts.ToNanoseconds() / NS)) if ts.ToNanoseconds() else "-"


def _print(act: decision_pb2.Activation) -> None:
    print(f"{act.activation_id}: {act.plan_id} v{act.plan_version}, level {act.level or 'none'}"
          f"{f' ({act.level_name})' if act.level_name else ''}, revision {act.revision}")
    for x in act.actions:
        flag = " OVERDUE" if x.overdue else ""
        print(f"  {x.action_id:<28} {x.role:<14} by {_when(x.deadline)}  {x.status}{flag}"
              + (f"  [{x.updated_by}: {x.note}]" if x.note else ""))
    notes = json.loads(act.document_json).get("notifications", []) if act.document_json else []
    if notes:
        print("notifications:")
        for n in notes:
            tries = f" after {n['attempts']} attempts" if n["attempts"] > 1 else ""
            why = f"  ({n['last_error']})" if n.get("last_error") else ""
            print(f"  {n['kind']:<13} {n['role']:<14} {n['channel']:<8} {n['address']}  {n['status']}{tries}{why}")


def activation_command(a: argparse.Namespace, o: ClientOptions) -> int:
    with Client(o) as c:
        if a.activation_command == "show":
            act = c.decision.GetActivation(decision_pb2.GetActivationRequest(activation_id=a.activation_id))
        else:
            act = c.decision.UpdateAction(decision_pb2.UpdateActionRequest(
                activation_id=a.activation_id, action_id=a.action_id, status=a.status, note=a.note))
    if a.json:
        out: dict[str, Any] = to_dict(act)
        out.pop("document_json", None)
        out["document"] = json.loads(act.document_json) if act.document_json else None
        print_json(out)
    else:
        _print(act)
    return 0
