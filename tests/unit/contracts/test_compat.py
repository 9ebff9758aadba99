"""The compatibility gate: a breaking change to a committed schema fails, naming the event and
the field; additive, optional changes and new versions pass."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from contracts import schemas
from contracts.compat import breaking_changes, compare, load_committed
from contracts.events import ClientReferred
from contracts.events.intake import IntakeEvent

STEP = "carepath.placement.SteppedDown.v1"
ASSESSED = "carepath.assessment.ClientAssessed.v1"
REFERRED = "carepath.intake.ClientReferred.v1"


def committed(name: str) -> dict[str, Any]:
    return load_committed(schemas.SCHEMA_DIR)[name]


def changes(old: dict[str, Any], new: dict[str, Any], name: str = STEP) -> list[str]:
    return [str(change) for change in compare(old, new, contract=name)]


def test_the_code_is_compatible_with_every_committed_schema() -> None:
    assert schemas.breaking() == []
    assert schemas.stale() == [], "run `make contracts`"


def test_a_removed_field_is_named() -> None:
    old = committed(STEP)
    new = copy.deepcopy(old)
    del new["properties"]["reason"]
    new["required"].remove("reason")
    assert changes(old, new) == [f"{STEP}: field 'reason': removed"]


def test_a_renamed_field_reads_as_removed_with_a_hint() -> None:
    old = committed(STEP)
    new = copy.deepcopy(old)
    new["properties"]["why"] = new["properties"].pop("reason")
    new["required"] = [("why" if f == "reason" else f) for f in new["required"]]
    assert changes(old, new) == [f"{STEP}: field 'reason': removed (renamed to why?)",
                                 f"{STEP}: field 'why': new required field"]


def test_a_type_change_is_named() -> None:
    old = committed(REFERRED)
    new = copy.deepcopy(old)
    new["properties"]["presenting_concern_count"] = {"type": "string"}
    assert changes(old, new, REFERRED) == [
        f"{REFERRED}: field 'presenting_concern_count': type changed from integer to string"]


def test_an_enum_value_removed_from_a_shared_definition_names_every_field_using_it() -> None:
    old = committed(STEP)
    new = copy.deepcopy(old)
    new["$defs"]["LevelOfCare"]["enum"].remove("iop")
    assert changes(old, new) == [f"{STEP}: field 'from_level': enum value(s) removed: iop",
                                 f"{STEP}: field 'to_level': enum value(s) removed: iop"]


def test_forbidding_extra_fields_is_a_tightened_policy() -> None:
    old = committed(STEP)
    assert changes(old, {**old, "additionalProperties": False}) == [
        f"{STEP}: the event: extra policy tightened: unknown fields are now forbidden"]


def test_nested_fields_are_named_by_their_path() -> None:
    old = committed(ASSESSED)
    new = copy.deepcopy(old)
    new["$defs"]["Dimensions"]["properties"]["d1"]["maximum"] = 3
    new["properties"]["rationale"]["items"]["maxLength"] = 80
    assert changes(old, new, ASSESSED) == [
        f"{ASSESSED}: field 'dimensions.d1': maximum tightened from 4 to 3",
        f"{ASSESSED}: field 'rationale[]': maxLength tightened from none to 80"]


def test_optionality_changes_break_either_replay_or_consumers() -> None:
    old = committed(STEP)
    new = copy.deepcopy(old)
    new["required"] = [f for f in new["required"] if f != "reason"] + ["from_waitlist"]
    assert changes(old, new) == [
        f"{STEP}: field 'from_waitlist': became required",
        f"{STEP}: field 'reason': no longer required, so consumers may find it missing"]


class ReferralWithOptionalChannel(ClientReferred):
    referral_channel: str | None = None


class ReferralRequiringChannel(ClientReferred):
    referral_channel: str


class ReferralWithoutCount(IntakeEvent):
    referral_source: str
    referred_at: str


def test_real_model_changes_are_judged_like_the_committed_schema_would_see_them() -> None:
    old = committed(REFERRED)
    assert changes(old, ReferralWithOptionalChannel.model_json_schema(), REFERRED) == []
    assert changes(old, ReferralRequiringChannel.model_json_schema(), REFERRED) == [
        f"{REFERRED}: field 'referral_channel': new required field"]
    assert changes(old, ReferralWithoutCount.model_json_schema(), REFERRED) == [
        f"{REFERRED}: field '{name}': removed"
        for name in ("family_recipients", "presenting_concern_count", "requested_level")]


def test_growing_within_a_version_passes() -> None:
    old = committed(STEP)
    new = copy.deepcopy(old)
    new["properties"]["note_code"] = {"anyOf": [{"type": "string"}, {"type": "null"}],
                                      "default": None}
    new["$defs"]["TransitionTrigger"]["enum"].append("court_order")
    new["properties"]["reason"]["maxLength"] = 1000
    assert changes(old, new) == []


def test_a_new_version_beside_the_old_one_passes_and_dropping_the_old_one_fails() -> None:
    old = committed(STEP)
    incompatible = {**old, "properties": {"level": {"type": "string"}}, "required": ["level"]}
    v2 = STEP.replace(".v1", ".v2")
    assert breaking_changes({STEP: old}, {STEP: old, v2: incompatible}) == []
    [dropped] = breaking_changes({STEP: old}, {v2: incompatible})
    assert str(dropped).startswith(f"{STEP}: the event: removed")


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "schemas"
    shutil.copytree(schemas.SCHEMA_DIR, directory)
    return directory


def test_make_contracts_refuses_to_overwrite_a_schema_with_a_breaking_change(
        schema_dir: Path) -> None:
    # The committed file promises a field the code no longer has: as if the model lost it.
    path = schema_dir / f"{STEP}.json"
    released = json.loads(path.read_text())
    released["properties"]["clinician_ref"] = {"type": "string"}
    path.write_text(schemas.render(released))
    with pytest.raises(schemas.BreakingChange, match=f"{STEP}: field 'clinician_ref': removed"):
        schemas.write(schema_dir)
    assert json.loads(path.read_text()) == released


def test_make_contracts_rewrites_after_a_compatible_change(schema_dir: Path) -> None:
    path = schema_dir / f"{STEP}.json"
    older = json.loads(path.read_text())
    del older["properties"]["from_waitlist"]  # the code has since added this optional field
    path.write_text(schemas.render(older))
    assert schemas.stale(schema_dir) == [f"{STEP}.json"]
    assert schemas.write(schema_dir) == [path]
    assert schemas.stale(schema_dir) == [] and schemas.breaking(schema_dir) == []


def test_the_check_command_passes_on_the_committed_tree() -> None:
    assert schemas.main(["--check"]) == 0
