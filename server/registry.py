"""Structures and channels: domain operations over the database, tenant checks,
and SEED codes for the archive."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from .auth import Access, check_structure_access, tenant_for_new_structure, visible_tenant
from .errors import AlreadyExists, InvalidInput, NotFound
from .ingest.validate import check_id
from .storage import audit
from .storage.models import Channel, Structure, utcnow
from .storage.retry import rerun_on_integrity_error
from .storage.tokens import Principal

KINDS = ("bridge", "dam", "mine", "building", "tunnel", "other")
UNITS = ("acceleration_mps2", "velocity_mps", "displacement_m", "strain", "temperature_c", "other")
_SEED_PART = {"network": r"^[A-Z0-9]{1,2}$", "station": r"^[A-Z0-9]{1,5}$", "location": r"^[A-Z0-9]{0,2}$", "channel": r"^[A-Z0-9]{3}$"}


def band_code(rate_hz: float) -> str:
    """SEED band code for a broadband sensor at ``rate_hz`` (SEED manual, Appendix A)."""
    for limit, code in ((1000, "F"), (250, "C"), (80, "H"), (10, "B"), (1, "M")):
        if rate_hz >= limit:
            return code
    return "L" if rate_hz > 0 else "H"


def instrument_code(units: str) -> str:
    return {"acceleration_mps2": "N", "velocity_mps": "H", "displacement_m": "N", "temperature_c": "K", "strain": "S"}.get(units, "X")


def orientation_code(label: str, i: int) -> str:
    label = label.upper()
    if label in ("E", "N", "Z", "1", "2", "3"):
        return label
    return {"X": "1", "Y": "2"}.get(label, "ENZ"[i % 3])


def check_seed_id(seed_id: str, field: str) -> None:
    parts = seed_id.split(".")
    if len(parts) != 4 or not all(re.match(p, v) for p, v in zip(_SEED_PART.values(), parts, strict=True)):
        raise InvalidInput(f"{field}: {seed_id!r} is not a SEED id NET.STA.LOC.CHA (2.5.2.3 upper-case characters)", field=field)


def _station_code(s: Session, structure_id: str) -> str:
    base = re.sub(r"[^A-Z0-9]", "", structure_id.upper())[:5] or "S"
    taken = set(s.exec(select(Structure.station_code)))
    if base not in taken:
        return base
    digest = hashlib.sha1(structure_id.encode()).hexdigest().upper()
    for k in range(len(digest) - 2):
        cand = (base[:2] + digest[k : k + 3])[:5]
        if cand not in taken:
            return cand
    raise InvalidInput("structure_id: could not derive a unique SEED station code; set station_code", field="station_code")


@dataclass(frozen=True)
class StructureInput:
    structure_id: str
    name: str = ""
    kind: str = "other"
    tenant: str = ""
    longitude_deg: float = 0.0
    latitude_deg: float = 0.0
    elevation_m: float = 0.0
    network_code: str = ""
    station_code: str = ""
    description: str = ""
    lowest_mode_hz: float = 0.0  # 0: found in each record

#: the highest slowest-mode frequency a structure may declare (Hz)
MAX_LOWEST_MODE_HZ = 100.0


def _audit(s: Session, p: Principal, action: str, target: str, details: dict[str, object]) -> None:
    audit.add(s, actor=p.token_id, role=p.role.value, tenant=p.tenant, action=action, target=target, details=details)


# A registry change (with its audit entry) is one transaction, done again from the
# start when a concurrent writer took what it chose: the audit chain's tip, a station
# code or a generated SEED id (all unique in the database). Explicit collisions are
# checked before writing, so an integrity error here is a race.
_unit_of_work = rerun_on_integrity_error(
    exhausted=lambda exc: AlreadyExists("registry: the change kept colliding with concurrent changes; try again", field="structure_id")
)


@_unit_of_work
def put_structure(engine: Engine, p: Principal, inp: StructureInput, default_network: str) -> tuple[Structure, bool]:
    check_id(inp.structure_id, "structure.structure_id")
    if inp.kind not in KINDS:
        raise InvalidInput(f"structure.kind: {inp.kind!r} is not one of {', '.join(KINDS)}", field="structure.kind")
    if not (-180 <= inp.longitude_deg <= 180 and -90 <= inp.latitude_deg <= 90 and math.isfinite(inp.elevation_m)):
        raise InvalidInput("structure.location: longitude must be in [-180, 180] and latitude in [-90, 90]", field="structure.location")
    if not (math.isfinite(inp.lowest_mode_hz) and 0.0 <= inp.lowest_mode_hz <= MAX_LOWEST_MODE_HZ):
        raise InvalidInput(f"structure.lowest_mode_hz: must be 0 (found in each record) or a frequency in (0, "
                           f"{MAX_LOWEST_MODE_HZ:g}] Hz, got {inp.lowest_mode_hz:g}", field="structure.lowest_mode_hz")
    with Session(engine) as s:
        row = s.get(Structure, inp.structure_id)
        created = row is None
        if row is None:
            tenant = tenant_for_new_structure(p, inp.tenant)
            check_id(tenant, "structure.tenant")
            net = inp.network_code or default_network
            sta = inp.station_code or _station_code(s, inp.structure_id)
            check_seed_id(f"{net}.{sta}..HNZ", "structure.station_code")
            taken = s.exec(select(Structure).where(Structure.network_code == net, Structure.station_code == sta)).first()
            if taken is not None:
                # the archive keeps one SDS station directory per structure
                raise AlreadyExists(f"structure.station_code: {net}.{sta} is already used by another structure", field="structure.station_code")
            row = Structure(structure_id=inp.structure_id, tenant=tenant, network_code=net, station_code=sta)
        else:
            check_structure_access(p, row.tenant, Access.WRITE, row.structure_id)
            if inp.tenant and inp.tenant != row.tenant:
                raise InvalidInput("structure.tenant: a structure cannot change tenant", field="structure.tenant")
        row.name = inp.name or row.name or inp.structure_id
        row.kind = inp.kind
        row.longitude_deg, row.latitude_deg, row.elevation_m = inp.longitude_deg, inp.latitude_deg, inp.elevation_m
        row.description = inp.description
        row.lowest_mode_hz = inp.lowest_mode_hz
        row.updated_at = utcnow()
        s.add(row)
        _audit(s, p, "structure.create" if created else "structure.update", row.structure_id, {"kind": row.kind, "tenant": row.tenant})
        s.commit()
        s.refresh(row)
        return row, created


def get_structure(engine: Engine, p: Principal, structure_id: str) -> tuple[Structure, list[Channel]]:
    with Session(engine) as s:
        row = s.get(Structure, structure_id)
        if row is None:
            raise NotFound(f"structure_id: {structure_id!r} is not registered", field="structure_id")
        check_structure_access(p, row.tenant, Access.READ, structure_id)
        chans = list(s.exec(select(Channel).where(Channel.structure_id == structure_id).order_by(col(Channel.channel_id))))
        return row, chans


def list_structures(engine: Engine, p: Principal, kind: str = "", tenant: str = "") -> list[Structure]:
    with Session(engine) as s:
        q = select(Structure).order_by(col(Structure.structure_id))
        scope = visible_tenant(p)
        if scope is not None:
            q = q.where(Structure.tenant == scope)
        if tenant:
            q = q.where(Structure.tenant == tenant)
        if kind:
            q = q.where(Structure.kind == kind)
        return list(s.exec(q))


@_unit_of_work
def delete_structure(engine: Engine, p: Principal, structure_id: str) -> None:
    with Session(engine) as s:
        row = s.get(Structure, structure_id)
        if row is None:
            raise NotFound(f"structure_id: {structure_id!r} is not registered", field="structure_id")
        check_structure_access(p, row.tenant, Access.WRITE, structure_id)
        for ch in s.exec(select(Channel).where(Channel.structure_id == structure_id)):
            s.delete(ch)
        s.delete(row)
        _audit(s, p, "structure.delete", structure_id, {"tenant": row.tenant})
        s.commit()


@_unit_of_work
def put_channels(engine: Engine, p: Principal, structure_id: str, channels: list[Channel]) -> list[Channel]:
    """Create or replace channels; SEED ids are generated where empty. All or nothing."""
    with Session(engine) as s:
        st = s.get(Structure, structure_id)
        if st is None:
            raise NotFound(f"structure_id: {structure_id!r} is not registered", field="structure_id")
        check_structure_access(p, st.tenant, Access.WRITE, structure_id)
        existing = {c.channel_id: c for c in s.exec(select(Channel).where(Channel.structure_id == structure_id))}
        used = {c.seed_id for c in existing.values()}
        seen: set[str] = set()
        out: list[Channel] = []
        for i, ch in enumerate(channels):
            f = f"channels[{i}]"
            check_id(ch.channel_id, f"{f}.channel_id")
            if ch.channel_id in seen:
                raise InvalidInput(f"{f}.channel_id: {ch.channel_id!r} appears twice", field=f"{f}.channel_id")
            seen.add(ch.channel_id)
            if ch.units not in UNITS:
                raise InvalidInput(f"{f}.units: {ch.units!r} is not one of {', '.join(UNITS)}", field=f"{f}.units")
            if not (math.isfinite(ch.sensitivity) and ch.sensitivity > 0):
                raise InvalidInput(f"{f}.sensitivity: must be a finite number > 0 (counts per unit)", field=f"{f}.sensitivity")
            for name in ("sample_rate_hz", "clip_level"):
                v = getattr(ch, name)
                if not (math.isfinite(v) and v >= 0):
                    raise InvalidInput(f"{f}.{name}: must be a finite number >= 0, got {v!r}", field=f"{f}.{name}")
            for name in ("azimuth_deg", "dip_deg", "x_m", "y_m", "z_m", "height_m"):
                if not math.isfinite(getattr(ch, name)):
                    raise InvalidInput(f"{f}.{name}: must be finite", field=f"{f}.{name}")
            if len(ch.orientation) > 4 or len(ch.array_id) > 64:
                raise InvalidInput(f"{f}: orientation is at most 4 characters and array_id at most 64", field=f"{f}.orientation")
            old = existing.get(ch.channel_id)
            if old is not None:
                used.discard(old.seed_id)
            seed_id = ch.seed_id  # the caller's objects are never modified
            if not seed_id:
                seed_id = old.seed_id if old is not None and old.seed_id else _new_seed_id(st, ch, len(existing) + i, used)
            check_seed_id(seed_id, f"{f}.seed_id")
            own = f"{st.network_code}.{st.station_code}."
            if not seed_id.startswith(own):
                raise InvalidInput(
                    f"{f}.seed_id: {seed_id!r} must start with {own} (the structure's network and station codes)",
                    field=f"{f}.seed_id",
                )
            if seed_id in used:
                raise InvalidInput(f"{f}.seed_id: {seed_id!r} is already used by another channel", field=f"{f}.seed_id")
            used.add(seed_id)
            row = old or Channel(structure_id=structure_id, channel_id=ch.channel_id)
            for name in Channel.model_fields:
                if name not in ("structure_id", "channel_id"):
                    setattr(row, name, getattr(ch, name))
            row.seed_id = seed_id
            s.add(row)
            out.append(row)
        _audit(s, p, "channels.put", structure_id, {"channels": [r.channel_id for r in out]})
        s.commit()
        for row in out:
            s.refresh(row)
        return out


def _new_seed_id(st: Structure, ch: Channel, i: int, used: set[str]) -> str:
    cha = band_code(ch.sample_rate_hz or 200.0) + instrument_code(ch.units) + orientation_code(ch.orientation, i)
    for loc in range(100):
        cand = f"{st.network_code}.{st.station_code}.{loc:02d}.{cha}"
        if cand not in used:
            return cand
    raise InvalidInput(f"channels: no free SEED location code for {cha}; set seed_id explicitly", field="channels.seed_id")
