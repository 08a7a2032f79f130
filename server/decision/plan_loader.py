"""Load and validate emergency plans, reporting every error with file, line and field.

Issue "[5] Emergency plans as data" (``quakewatch plan validate PATH...``).
The YAML is composed once into its node tree to learn the line of every key
and list item, then validated by the pydantic schema
(:mod:`~quakewatch.server.decision.plan_schema`) and the cross-field rules;
each problem becomes a :class:`PlanError` ``file:line: field: message``.
Duplicate keys (which YAML loaders silently resolve to the last value) are
errors too.  A plan that names a ``rule_table`` has it loaded and checked
(its levels must be levels of the plan), and a relief-norms file other than
``default`` must exist and parse.

Relative paths in a plan (``rule_table``, ``relief.norms``) are looked up
beside the plan file first, then in the ``quakewatch.plans`` package (so
``response_levels/cn-national-2012.yaml`` names the shipped table).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import InvalidInput, QuakeWatchError
from .plan_schema import Loc, Plan, semantic_errors
from .relief import ReliefNorm, load_relief_norms
from .response_level import ResponseRuleTable, load_rule_table

__all__ = ["LoadedPlan", "PlanError", "PlanInvalid", "check_plan", "load_plan", "parse_plan_text", "shipped_plans"]


@dataclass(frozen=True)
class PlanError:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class PlanInvalid(InvalidInput):
    """A plan with errors; ``errors`` holds every one of them."""

    def __init__(self, errors: list[PlanError]) -> None:
        super().__init__("invalid plan: " + "; ".join(str(e) for e in errors), field=errors[0].field if errors else "plan")
        self.errors = errors


@dataclass(frozen=True)
class LoadedPlan:
    """A valid plan with what it refers to, and the fingerprint decisions are audited with."""

    plan: Plan
    source: str
    sha256: str
    rule_table: ResponseRuleTable | None
    relief_norms: tuple[ReliefNorm, ...] | None = None
    base_dir: Path | None = field(default=None, compare=False)

    @property
    def version_label(self) -> str:
        return f"{self.plan.id} v{self.plan.version} ({self.sha256[:12]})"


def _lines(node: yaml.Node, loc: Loc, out: dict[Loc, int], dups: list[tuple[Loc, int]]) -> None:
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark)
            if name in seen:
                dups.append(((*loc, name), key.start_mark.line + 1))
            seen.add(name)
            out[(*loc, name)] = key.start_mark.line + 1
            _lines(value, (*loc, name), out, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*loc, i), out, dups)


def _clean(loc: tuple[Any, ...]) -> Loc:
    # drop pydantic's union-branch and validator labels ("function-before[...]", "timedelta")
    return tuple(p for p in loc if isinstance(p, int) or not any(ch in str(p) for ch in "[(") and p not in ("timedelta",))


def _line_of(lines: dict[Loc, int], loc: Loc) -> int:
    for n in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])
        if key in lines:
            return lines[key]
    return 1


def _field(loc: Loc) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "plan"


def _resolve(name: str, base_dir: Path | None) -> Path | None:
    if base_dir is not None and (base_dir / name).is_file():
        return base_dir / name
    packaged = resources.files("quakewatch.plans").joinpath(*name.split("/"))
    if packaged.is_file():
        return Path(str(packaged))
    return None


def parse_plan_text(text: str, label: str, base_dir: Path | None = None) -> tuple[LoadedPlan | None, list[PlanError]]:
    """Validate a plan's YAML text; ``(plan, [])`` when valid, ``(None, errors)`` otherwise."""
    def err(loc: Loc, message: str, lines: dict[Loc, int] | None = None) -> PlanError:
        return PlanError(label, _line_of(lines or {}, loc), _field(loc), message)

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [PlanError(label, (mark.line + 1) if mark else 1, "plan", f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict) or node is None:
        return None, [PlanError(label, 1, "plan", f"a plan is a mapping of keys, got {type(data).__name__}")]
    lines: dict[Loc, int] = {}
    dups: list[tuple[Loc, int]] = []
    _lines(node, (), lines, dups)
    errors = [PlanError(label, line, _field(loc), "duplicate key (YAML would keep only the last one)") for loc, line in dups]
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            loc = _clean(e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
            elif e["type"] == "missing":
                msg = "required key missing"
            elif e["type"] in ("enum", "literal_error"):
                msg = f"{msg}, got {e.get('input')!r}"
            errors.append(err(loc, msg, lines))
        return None, sorted(errors, key=lambda x: x.line)
    errors += [err(loc, msg, lines) for loc, msg in semantic_errors(plan)]

    table = None
    if plan.rule_table is not None:
        path = _resolve(plan.rule_table, base_dir)
        if path is None:
            errors.append(err(("rule_table",), f"rule table {plan.rule_table!r} not found beside the plan or in the shipped plans", lines))
        else:
            try:
                table = load_rule_table(path)
            except QuakeWatchError as exc:
                errors.append(err(("rule_table",), f"{plan.rule_table}: {exc.message}", lines))
            else:
                defined = {s.level for s in plan.levels}
                missing = [r.level.value for r in table.levels if r.level not in defined]
                if missing:
                    errors.append(err(("levels",), f"rule table {table.id} grades levels {', '.join(missing)}, which the plan does not define", lines))
    norms = None
    if plan.relief is not None and plan.relief.norms != "default":
        path = _resolve(plan.relief.norms, base_dir)
        if path is None:
            errors.append(err(("relief", "norms"), f"relief norms {plan.relief.norms!r} not found", lines))
        else:
            try:
                norms = load_relief_norms(path)
            except QuakeWatchError as exc:
                errors.append(err(("relief", "norms"), exc.message, lines))
    if errors:
        return None, sorted(errors, key=lambda x: x.line)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedPlan(plan, label, digest, table, norms, base_dir), []


def check_plan(path: str | Path) -> list[PlanError]:
    """Every error of one plan file (``[]`` when it is valid)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [PlanError(str(path), 1, "plan", f"cannot read: {exc}")]
    return parse_plan_text(text, str(path), p.parent)[1]


def load_plan(path: str | Path) -> LoadedPlan:
    """A valid plan, or :class:`PlanInvalid` listing every error."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"plan {path} does not exist", field="plan") from None
    plan, errors = parse_plan_text(text, str(path), p.parent)
    if plan is None:
        raise PlanInvalid(errors)
    return plan


def shipped_plans() -> Iterable[Path]:
    """The plans shipped in ``quakewatch.plans`` (``*.yaml`` at the top level)."""
    root = resources.files("quakewatch.plans")
    return sorted(Path(str(f)) for f in root.iterdir() if f.name.endswith(".yaml"))
