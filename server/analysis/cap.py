"""Alerts as Common Alerting Protocol 1.2 documents (OASIS Standard CAP-V1.2, 2010).

Every alert the server raises (:mod:`.mine_monitor`, :mod:`.eew`) also carries this
XML, so that a public warning system, a siren controller or a provincial platform can
take it without knowing our gRPC contract.  Rules of the standard that shape the code
(section 3.2 of CAP-V1.2):

* elements in the schema's order: ``identifier, sender, sent, status, msgType, scope,
  [references], info``; ``info``: ``language, category, event, urgency, severity,
  certainty, [onset, expires], senderName, headline, description, [instruction],
  parameter*, area``;
* date-times as ``YYYY-MM-DDThh:mm:ss+hh:mm`` with UTC written ``-00:00`` (never
  ``Z``); an ``Update`` names the message it replaces in ``references`` as
  ``sender,identifier,sent``;
* ``circle`` is ``lat,lon radius`` (WGS 84 degrees, km);
* drills and exercises are ``status`` ``Exercise``, never ``Actual``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["CAP_NS", "CapArea", "CapMessage", "cap_time", "render"]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SENDER = "quakewatch@localhost"
_SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
_URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
_CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")


def cap_time(t: datetime) -> str:
    """CAP date-time: whole seconds, UTC as ``-00:00`` (CAP-V1.2 sec. 3.3.2)."""
    s = t.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()
    return s + "-00:00"


@dataclass(frozen=True)
class CapArea:
    description: str
    latitude_deg: float
    longitude_deg: float
    radius_km: float


@dataclass(frozen=True)
class CapMessage:
    identifier: str
    sent: datetime
    event: str
    severity: str
    urgency: str
    certainty: str
    headline: str
    description: str
    area: CapArea
    msg_type: str = "Alert"
    references: str = ""  # "sender,identifier,sent" of the message an Update replaces
    exercise: bool = False
    category: str = "Geo"
    instruction: str = ""
    onset: datetime | None = None
    expires: datetime | None = None
    parameters: dict[str, str] = field(default_factory=dict)


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    e = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    e.text = text
    return e


def render(m: CapMessage) -> str:
    """The CAP 1.2 XML text of one message (UTF-8 declaration included)."""
    if m.severity not in _SEVERITIES or m.urgency not in _URGENCIES or m.certainty not in _CERTAINTIES:
        raise ValueError(f"severity/urgency/certainty: {m.severity}/{m.urgency}/{m.certainty} is not a CAP 1.2 value")
    if m.msg_type not in ("Alert", "Update", "Cancel"):
        raise ValueError(f"msg_type: {m.msg_type!r} is not Alert, Update or Cancel")
    ET.register_namespace("", CAP_NS)
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", m.identifier)
    _sub(root, "sender", SENDER)
    _sub(root, "sent", cap_time(m.sent))
    _sub(root, "status", "Exercise" if m.exercise else "Actual")
    _sub(root, "msgType", m.msg_type)
    _sub(root, "scope", "Public")
    if m.references:
        _sub(root, "references", m.references)
    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    _sub(info, "language", "en-US")
    _sub(info, "category", m.category)
    _sub(info, "event", m.event)
    _sub(info, "urgency", m.urgency)
    _sub(info, "severity", m.severity)
    _sub(info, "certainty", m.certainty)
    if m.onset is not None:
        _sub(info, "onset", cap_time(m.onset))
    if m.expires is not None:
        _sub(info, "expires", cap_time(m.expires))
    _sub(info, "senderName", "QuakeWatch")
    _sub(info, "headline", m.headline[:160])
    _sub(info, "description", m.description)
    if m.instruction:
        _sub(info, "instruction", m.instruction)
    for name, value in m.parameters.items():
        par = ET.SubElement(info, f"{{{CAP_NS}}}parameter")
        _sub(par, "valueName", name)
        _sub(par, "value", value)
    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    _sub(area, "areaDesc", m.area.description)
    _sub(area, "circle", f"{m.area.latitude_deg:.5f},{m.area.longitude_deg:.5f} {max(m.area.radius_km, 0.0):.1f}")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
