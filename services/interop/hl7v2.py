"""HL7 v2.5.1 ADT messages of the feed, built and checked with hl7apy, and their acknowledgements
(original-mode ACK, HL7 v2.5.1 chapter 2.9.2: MSH-15/16 are left empty).

Segments (chapter 3): MSH, EVN, PID, PV1 — nothing else, and nothing about the person:

- MSH-3..6 sending/receiving application and facility (AdtConfig); MSH-7 the event's time;
  MSH-9 type^trigger^structure; MSH-10 the event id (a resend is the same message, which the
  receiver dedupes); MSH-11 P; MSH-12 2.5.1. The structure is HL7 table 0354's: A01 ADT_A01,
  A02 ADT_A02, A03 ADT_A03, A05 ADT_A05, A11 ADT_A09 (A09-A12 share it).
  MSH-10 is a 36-character UUID where v2.5.1 gives the field 20 characters (v2.7 widened it
  to 199); hl7apy does not enforce lengths and the receivers we test with accept it.
- EVN-1 trigger (kept though deprecated, for older receivers); EVN-2 recorded date/time;
  EVN-6 event occurred.
- PID-3 the client_ref, assigning authority CAREPATH, identifier type PI (table 0203 "Patient
  internal identifier"); the only identifier sent. PID-5 is required in v2.5.1, and interop
  holds no names: it carries the placeholder family name PSEUDONYMIZED with name type code S
  (table 0200 "Coded pseudo-name to assure anonymity"), so a receiver sees at once that the
  name is deliberately absent rather than lost (an empty PID-5 would break the standard and
  many receivers' required-field checks).
- PV1-2 patient class (table 0004): I (inpatient) for residential; O (outpatient) for PHP, IOP
  and aftercare, which are day or session programmes with no overnight stay; P (preadmit) on
  A05. PV1-3 assigned location: point of care = the level of care, facility = the site id;
  PV1-6 prior location on A02 (same form). PV1-19 visit number = the episode id (type VN).
  PV1-36 discharge disposition on A03 (below). PV1-44 admit and PV1-45 discharge date/time.

PV1-36 is an IS field (user-defined table 0112), so it has no coding-system component to name
TEDS in: the TEDS-D reasons map to the table's suggested values where their meaning is the
same, and the three without an equivalent get local values (table 0112 is user-defined) "C"
+ the TEDS-D REASON code, which no suggested value uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message

from services.interop.deps import AdtConfig

if TYPE_CHECKING:
    from services.interop.adt import AdtEvent

VERSION = "2.5.1"
STRUCTURES = {"A01": "ADT_A01", "A02": "ADT_A02", "A03": "ADT_A03", "A05": "ADT_A05",
              "A11": "ADT_A09"}
INPATIENT_LEVELS = frozenset({"residential"})
ASSIGNING_AUTHORITY = "CAREPATH"
PSEUDONYM = "PSEUDONYMIZED^^^^^^S"
DISCHARGE_DISPOSITION = {  # contracts.events.placement.Disposition (canonical) -> table 0112
    "completed": "01",  # discharged to home or self care (routine discharge)
    "transferred_out": "05",  # to another institution for inpatient care or outpatient services
    "left_against_advice": "07",  # left against medical advice or discontinued care
    "dropped_out": "07",
    "death": "20",  # expired
    "terminated_by_facility": "C3",  # local: TEDS-D REASON 3
    "incarcerated": "C5",  # local: TEDS-D REASON 5
    "other": "C7",  # local: TEDS-D REASON 7
    "ama": "07",  # legacy spellings (Disposition.canonical)
    "administrative": "C3",
}
ACCEPTED = frozenset({"AA", "CA"})
REFUSED = frozenset({"AE", "AR", "CE", "CR"})


class AckError(ValueError):
    """Not an acknowledgement one can read (garbled, or no MSA)."""


def render(event: AdtEvent, config: AdtConfig) -> str:
    """The ER7 text of one ADT message (segments separated by \\r)."""
    structure = STRUCTURES[event.trigger]
    message = Message(structure, version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    msh = message.msh
    msh.msh_3 = _text(config.sending_application)
    msh.msh_4 = _text(config.sending_facility)
    msh.msh_5 = _text(config.receiving_application)
    msh.msh_6 = _text(config.receiving_facility)
    msh.msh_7 = _ts(event.occurred_at)
    msh.msh_9 = f"ADT^{event.trigger}^{structure}"
    msh.msh_10 = _text(event.control_id)
    msh.msh_11 = "P"
    msh.msh_12 = VERSION
    message.evn.evn_1 = event.trigger
    message.evn.evn_2 = _ts(event.occurred_at)
    message.evn.evn_6 = _ts(event.occurred_at)
    message.pid.pid_3 = f"{_text(event.client_ref)}^^^{ASSIGNING_AUTHORITY}^PI"
    message.pid.pid_5 = PSEUDONYM
    pv1 = message.pv1
    pv1.pv1_2 = _patient_class(event)
    if event.level or event.site_id:
        pv1.pv1_3 = _location(event.level, event.site_id)
    if event.trigger == "A02" and (event.prior_level or event.prior_site):
        pv1.pv1_6 = _location(event.prior_level or "", event.prior_site or "")
    pv1.pv1_19 = f"{_text(str(event.episode_id))}^^^{ASSIGNING_AUTHORITY}^VN"
    if event.trigger == "A03" and event.disposition:
        pv1.pv1_36 = DISCHARGE_DISPOSITION.get(event.disposition, "C7")
    if event.admitted_at is not None:
        pv1.pv1_44 = _ts(event.admitted_at)
    if event.discharged_at is not None:
        pv1.pv1_45 = _ts(event.discharged_at)
    text: str = message.to_er7()
    return text


def validate(text: str) -> None:
    """Raise unless `text` is a valid v2.5.1 message (hl7apy, strict)."""
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    message.validate()


@dataclass(frozen=True)
class Ack:
    code: str  # MSA-1 (table 0008)
    control_id: str  # MSA-2: the MSH-10 acknowledged
    error: str  # ERR-8 user message, else MSA-3 text (empty on AA)

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED

    @property
    def refused(self) -> bool:
        return self.code in REFUSED


def read_ack(text: str) -> Ack:
    """MSA-1, MSA-2 and the error text of an ACK; AckError when it is none."""
    segments = [s for s in text.replace("\n", "\r").split("\r") if s]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise AckError("not an HL7 v2 message")
    field_sep, component_sep = segments[0][3], segments[0][4]
    msa = err = None
    for segment in segments[1:]:
        fields = segment.split(field_sep)
        if fields[0] == "MSA" and msa is None:
            msa = fields
        elif fields[0] == "ERR" and err is None:
            err = fields
    if msa is None or len(msa) < 3 or msa[1] not in ACCEPTED | REFUSED:
        raise AckError("no MSA segment with an acknowledgement code")
    error = ""
    if err is not None:  # ERR-8 user message, else ERR-3's text
        code_text = _at(err, 3).split(component_sep)
        error = _at(err, 8) or (code_text[1] if len(code_text) > 1 else "")
    error = error or _at(msa, 3)
    return Ack(code=msa[1], control_id=msa[2].split(component_sep)[0], error=error)


def ack_code(ack_text: str) -> tuple[str, str]:
    """MSA-1 and the receiver's error text (ERR-8, else MSA-3)."""
    ack = read_ack(ack_text)
    return ack.code, ack.error


def ack_for(message_text: str, code: str = "AA", error: str | None = None) -> str:
    """The original-mode ACK a receiver answers `message_text` with."""
    fields = _msh_fields(message_text)
    trigger = fields.get(9, "").split("^")[1:2]
    ack = Message("ACK", version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    msh = ack.msh
    for ours, theirs in ((3, 5), (4, 6), (5, 3), (6, 4)):
        if fields.get(theirs):
            setattr(msh, f"msh_{ours}", fields[theirs])
    msh.msh_7 = _ts(datetime.now(UTC))
    msh.msh_9 = f"ACK^{trigger[0]}^ACK" if trigger else "ACK"
    msh.msh_10 = uuid.uuid4().hex[:20]
    msh.msh_11 = fields.get(11) or "P"
    msh.msh_12 = VERSION
    ack.msa.msa_1 = code
    ack.msa.msa_2 = fields.get(10, "")
    if code not in ACCEPTED:
        text = _text(error or "refused")[:80]
        ack.msa.msa_3 = text
        err = ack.add_segment("ERR")
        # ERR-3 HL7 error code (table 0357: 207 application internal error), ERR-4 severity E.
        err.err_3 = "207^Application internal error^HL70357"
        err.err_4 = "E"
        err.err_8 = text
    result: str = ack.to_er7()
    return result


def message_type(text: str) -> tuple[str, str]:
    """MSH-9.2 (trigger) and MSH-10 (control id) of a message: what may be logged of it."""
    fields = _msh_fields(text)
    parts = fields.get(9, "").split("^")
    return (parts[1] if len(parts) > 1 else parts[0]), fields.get(10, "")


def patient_id(text: str) -> str:
    """PID-3.1 (the client_ref, a pseudonym)."""
    for segment in text.replace("\n", "\r").split("\r"):
        if segment.startswith("PID|"):
            return _at(segment.split("|"), 3).split("^")[0]
    return ""


def _msh_fields(text: str) -> dict[int, str]:
    """MSH fields by number (MSH-1 is the separator itself, so MSH-n is split index n - 1)."""
    first = text.replace("\n", "\r").split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 4:
        return {}
    parts = first.split(first[3])
    return {n: parts[n - 1] for n in range(2, len(parts) + 1)}


def _at(fields: list[str], n: int) -> str:
    return fields[n] if len(fields) > n else ""


def _patient_class(event: AdtEvent) -> str:
    if event.trigger == "A05":
        return "P"
    return "I" if event.level in INPATIENT_LEVELS else "O"


def _location(level: str, site: str) -> str:
    return f"{_text(level)}^^^{_text(site)}"


def _ts(moment: datetime) -> str:
    """DTM in UTC with its offset (seconds precision)."""
    at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def _text(value: str) -> str:
    """A value with HL7's delimiters escaped (chapter 2.7.4), line breaks removed."""
    for raw, escaped in _ESCAPES:
        value = value.replace(raw, escaped)
    return value.replace("\r", " ").replace("\n", " ")
