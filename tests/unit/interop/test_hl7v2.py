"""The feed's HL7 v2.5.1 ADT messages: each trigger renders, parses and validates (hl7apy,
strict); PID identifies the client by the client_ref alone; ACKs read and written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import ValidationError
from hl7apy.parser import parse_message

from services.interop import hl7v2
from services.interop.adt import AdtEvent
from services.interop.deps import AdtConfig

AT = datetime(2026, 3, 2, 14, 30, 5, tzinfo=UTC)
ADMITTED = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
EVENT_ID = uuid.UUID("0b0e3f7c-2d1a-4c55-8a0e-7f5d3c2b1a90")
CONTROL_ID = "0b0e3f7c2d1a4c558a0e"  # MSH-10: the event id in 20 hex digits (ST 20)
EPISODE_ID = uuid.UUID("6f1c4a52-8d0e-4d59-9a43-2f7c1b9e0d11")
CONFIG = AdtConfig(sending_application="CAREPATH", sending_facility="CP",
                   receiving_application="EHR", receiving_facility="HOSP")


def event(trigger: str, **overrides: object) -> AdtEvent:
    facts: dict[str, object] = {
        "trigger": trigger, "event_id": EVENT_ID, "client_ref": "client-7f3a",
        "episode_id": EPISODE_ID, "site_id": "site-north", "level": "residential",
        "occurred_at": AT, "admitted_at": ADMITTED, **overrides}
    return AdtEvent(**facts)  # type: ignore[arg-type]


EVENTS = {
    "A01": event("A01"),
    "A02": event("A02", level="php", prior_level="residential", prior_site="site-south"),
    "A03": event("A03", level="iop", discharged_at=AT, disposition="completed"),
    "A05": event("A05", admitted_at=None),
    "A11": event("A11"),
}


def parsed(text: str):  # type: ignore[no-untyped-def]
    return parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)


@pytest.mark.parametrize(("trigger", "structure"), sorted(hl7v2.STRUCTURES.items()))
def test_every_trigger_renders_a_valid_v251_message(trigger: str, structure: str) -> None:
    text = hl7v2.render(EVENTS[trigger], CONFIG)

    hl7v2.validate(text)
    message = parsed(text)
    assert message.name == structure
    assert "\n" not in text and text.split("\r")[0].startswith("MSH|^~\\&|")
    assert [s.split("|")[0] for s in text.split("\r")] == ["MSH", "EVN", "PID", "PV1"]
    msh = message.msh
    assert msh.msh_9.to_er7() == f"ADT^{trigger}^{structure}"
    assert msh.msh_10.to_er7() == CONTROL_ID
    assert (msh.msh_3.to_er7(), msh.msh_4.to_er7(), msh.msh_5.to_er7(),
            msh.msh_6.to_er7()) == ("CAREPATH", "CP", "EHR", "HOSP")
    assert (msh.msh_7.to_er7(), msh.msh_11.to_er7(), msh.msh_12.to_er7()) == (
        "20260302143005+0000", "P", "2.5.1")
    assert msh.msh_15.to_er7() == msh.msh_16.to_er7() == ""  # original-mode ACK
    assert message.evn.evn_1.to_er7() == trigger
    assert message.evn.evn_2.to_er7() == message.evn.evn_6.to_er7() == "20260302143005+0000"
    pv1 = message.pv1
    assert pv1.pv1_19.to_er7() == f"{EPISODE_ID}^^^CAREPATH^VN"
    assert pv1.pv1_3.to_er7() == f"{EVENTS[trigger].level}^^^site-north"


def test_pid_carries_the_client_ref_and_nothing_about_the_person() -> None:
    for ev in EVENTS.values():
        pid = next(s for s in hl7v2.render(ev, CONFIG).split("\r") if s.startswith("PID|"))
        fields = pid.split("|")
        assert fields[3] == "client-7f3a^^^CAREPATH^PI"
        assert fields[5] == "PSEUDONYMIZED^^^^^^S"  # table 0200 S: a coded pseudo-name
        assert [n for n, value in enumerate(fields) if value] == [0, 3, 5]


def test_patient_class_follows_the_level_of_care() -> None:
    classes = {level: parsed(hl7v2.render(event("A01", level=level), CONFIG)).pv1.pv1_2
               .to_er7() for level in ("residential", "php", "iop", "aftercare")}
    assert classes == {"residential": "I", "php": "O", "iop": "O", "aftercare": "O"}
    assert parsed(hl7v2.render(EVENTS["A05"], CONFIG)).pv1.pv1_2.to_er7() == "P"


def test_a02_carries_the_prior_location() -> None:
    message = parsed(hl7v2.render(EVENTS["A02"], CONFIG))
    assert message.pv1.pv1_6.to_er7() == "residential^^^site-south"
    assert message.pv1.pv1_3.to_er7() == "php^^^site-north"
    assert message.pv1.pv1_2.to_er7() == "O"
    for trigger in ("A01", "A03", "A05", "A11"):
        assert parsed(hl7v2.render(EVENTS[trigger], CONFIG)).pv1.pv1_6.to_er7() == ""


def test_a03_carries_disposition_and_discharge_time() -> None:
    message = parsed(hl7v2.render(EVENTS["A03"], CONFIG))
    assert message.pv1.pv1_36.to_er7() == "01"
    assert message.pv1.pv1_44.to_er7() == "20260201090000+0000"
    assert message.pv1.pv1_45.to_er7() == "20260302143005+0000"
    codes = {reason: parsed(hl7v2.render(event("A03", disposition=reason), CONFIG))
             .pv1.pv1_36.to_er7() for reason in ("left_against_advice", "death",
                                                 "incarcerated")}
    assert codes == {"left_against_advice": "07", "death": "20", "incarcerated": "C5"}


def test_delimiters_in_values_are_escaped() -> None:
    text = hl7v2.render(event("A01", site_id="a|b^c"), CONFIG)
    hl7v2.validate(text)
    assert parsed(text).pv1.pv1_3.to_er7() == "residential^^^a\\F\\b\\S\\c"


def test_validate_rejects_a_broken_message() -> None:
    text = hl7v2.render(EVENTS["A01"], CONFIG)
    no_pid = "\r".join(s for s in text.split("\r") if not s.startswith("PID|"))
    with pytest.raises(ValidationError, match="PID"):
        hl7v2.validate(no_pid)
    with pytest.raises(ValueError, match="date"):
        hl7v2.validate(text.replace("EVN|A01|", "EVN|A01|soon"))


@pytest.mark.parametrize("code", ["AA", "AE", "AR"])
def test_ack_for_and_ack_code_round_trip(code: str) -> None:
    message = hl7v2.render(EVENTS["A02"], CONFIG)
    ack = hl7v2.ack_for(message, code=code, error=None if code == "AA" else "unknown site")

    hl7v2.validate(ack)
    read = hl7v2.read_ack(ack)
    assert (read.code, read.control_id) == (code, CONTROL_ID)
    assert hl7v2.ack_code(ack) == (code, "" if code == "AA" else "unknown site")
    msh = ack.split("\r")[0].split("|")
    assert msh[2:6] == ["EHR", "HOSP", "CAREPATH", "CP"]  # sender and receiver swapped
    assert msh[8] == "ACK^A02^ACK"


def test_ack_code_reads_other_receivers_acks() -> None:
    ack = ("MSH|^~\\&|EHR|HOSP|CAREPATH|CP|20260302143006||ACK|1|P|2.5.1\r"
           "MSA|AE|abc\rERR||PID^1^3|103^Table value not found^HL70357|E")
    assert hl7v2.ack_code(ack) == ("AE", "Table value not found")
    assert hl7v2.ack_code("MSH|^~\\&|A|B|C|D|x||ACK|1|P|2.3\rMSA|CA|abc|fine\n") == (
        "CA", "fine")


@pytest.mark.parametrize("garbled", ["", "hello", "MSH|^~\\&|A\rPID|1", "MSH|^~\\&\rMSA|ZZ|1"])
def test_garbled_acks_are_ack_errors(garbled: str) -> None:
    with pytest.raises(hl7v2.AckError):
        hl7v2.ack_code(garbled)


def test_message_type_and_patient_id_are_all_that_is_read_for_logs() -> None:
    text = hl7v2.render(EVENTS["A03"], CONFIG)
    assert hl7v2.message_type(text) == ("A03", CONTROL_ID)
    assert hl7v2.patient_id(text) == "client-7f3a"
