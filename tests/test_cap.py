"""CAP 1.2 documents against the rules of the OASIS standard (CAP-V1.2, sec. 3)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from quakewatch.server.analysis.cap import CAP_NS, CapArea, CapMessage, cap_time, render

C = f"{{{CAP_NS}}}"


def _msg(**kw: object) -> CapMessage:
    base = dict(identifier="eew-1-2-b1", sent=datetime(2026, 11, 29, 12, 0, 5, 250000, tzinfo=UTC), event="Earthquake",
                severity="Severe", urgency="Immediate", certainty="Likely", headline="h", description="d",
                area=CapArea("b1", 37.0, 113.0, 0.5))
    base.update(kw)
    return CapMessage(**base)  # type: ignore[arg-type]


@pytest.mark.reference
def test_times_are_whole_seconds_with_utc_written_minus_zero() -> None:
    # sec. 3.3.2: "the timezone for UTC MUST be represented as -00:00"; no "Z"
    assert cap_time(datetime(2026, 11, 29, 12, 0, 5, 999000, tzinfo=UTC)) == "2026-11-29T12:00:05-00:00"
    assert cap_time(datetime(2026, 11, 29, 20, 0, 5, tzinfo=timezone(timedelta(hours=8)))) == "2026-11-29T12:00:05-00:00"


@pytest.mark.reference
def test_element_order_and_update_references() -> None:
    root = ET.fromstring(render(_msg(msg_type="Update", references="quakewatch@localhost,eew-1-1-b1,2026-11-29T12:00:04-00:00",
                                     parameters={"magnitude": "5.1"})))
    assert root.tag == f"{C}alert"
    assert [e.tag.removeprefix(C) for e in root] == ["identifier", "sender", "sent", "status", "msgType", "scope", "references", "info"]
    assert root.findtext(f"{C}msgType") == "Update" and len(root.findtext(f"{C}references").split(",")) == 3
    info = root.find(f"{C}info")
    assert [e.tag.removeprefix(C) for e in info] == ["language", "category", "event", "urgency", "severity", "certainty",
                                                   "senderName", "headline", "description", "parameter", "area"]
    assert info.find(f"{C}area").findtext(f"{C}circle") == "37.00000,113.00000 0.5"


def test_exercise_and_bad_values() -> None:
    assert ET.fromstring(render(_msg(exercise=True))).findtext(f"{C}status") == "Exercise"
    with pytest.raises(ValueError, match="severity"):
        render(_msg(severity="severe"))
    with pytest.raises(ValueError, match="msg_type"):
        render(_msg(msg_type="Ack"))
