"""Minimum necessary: the field policy's paths, and who is spared what."""

from carepath.http.auth import Principal
from carepath.http.fields import CLINICAL, FIELDS, redact, withheld


def who(*roles: str) -> Principal:
    return Principal(sub="someone", roles=frozenset(roles), sites=frozenset({"*"}))


def journey() -> dict[str, object]:
    return {"client_ref": "c-abc", "events": [
        {"type": "ClientAssessed", "data": {"final_level": "iop", "dimensions": {"d1": 2},
                                            "rationale": ["x"]}},
        {"type": "RelapseRiskFlagged", "data": {"severity": "high", "score": 8.0,
                                                "indicators": [{"code": "missed"}]}},
        {"type": "SteppedUp", "data": {"to_level": "php"}}]}


def test_an_ops_viewer_sees_who_moved_where_but_no_clinical_detail() -> None:
    rules = FIELDS["journey"]["GET /clients/{client_ref}/journey"]
    shown = redact(journey(), withheld(rules, who("ops_viewer")))
    assert [e["data"] for e in shown["events"]] == [
        {"final_level": "iop"}, {}, {"to_level": "php"}]


def test_clinicians_the_care_team_and_admin_see_everything() -> None:
    rules = FIELDS["journey"]["GET /clients/{client_ref}/journey"]
    for roles in (("clinician",), ("care_team",), ("admin",), ("ops_viewer", "clinician")):
        assert redact(journey(), withheld(rules, who(*roles))) == journey()


def test_star_covers_lists_and_missing_keys_are_no_error() -> None:
    flags = [{"client_ref": "c-1", "score": 7.0, "indicators": []}, {"client_ref": "c-2"}]
    assert redact(flags, ["*.score", "*.indicators", "*.absent.deeper"]) == [
        {"client_ref": "c-1"}, {"client_ref": "c-2"}]
    assert CLINICAL == frozenset({"clinician", "care_team"})
