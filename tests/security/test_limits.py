"""Input limits: a body over the maximum size is refused with 413 and the reason before any
parsing — declared or streamed — and nothing is stored; bounded fields say which one."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import text

REFERRAL = {"site_id": "boston", "first_name": "Big", "last_name": "Body",
            "date_of_birth": "1970-07-07", "referral_source": "self"}


def stored_clients(intake: Any) -> int:
    with intake.app.state.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT count(*) FROM client")).scalar_one())


def test_a_body_over_the_limit_is_refused_with_the_reason_and_stores_nothing(
        service_client: Callable[..., Any]) -> None:
    oversized = {**REFERRAL, "presenting_concerns": ["x" * 150] * 20}  # valid, but > 2 KiB
    raw = json.dumps(oversized).encode()

    def streamed() -> Iterator[bytes]:
        yield from (raw[i:i + 512] for i in range(0, len(raw), 512))

    with service_client("intake", max_body_bytes=2048) as intake:
        declared = intake.post("/referrals", content=raw,
                               headers={"content-type": "application/json"})
        chunked = intake.post("/referrals", content=streamed(),
                              headers={"content-type": "application/json"})
        assert intake.post("/referrals", json=REFERRAL).status_code == 201
        assert stored_clients(intake) == 1
    for refused in (declared, chunked):
        assert refused.status_code == 413
        assert refused.json()["error"] == "PayloadTooLarge"
        assert "the limit is 2048 bytes" in refused.json()["detail"]


def test_oversized_fields_and_lists_are_refused_naming_the_field(
        service_client: Callable[..., Any]) -> None:
    with service_client("intake") as intake:
        too_long = intake.post("/referrals", json={**REFERRAL, "last_name": "x" * 101})
        too_many = intake.post("/referrals", json={**REFERRAL,
                                                   "presenting_concerns": ["a"] * 21})
        too_much = intake.get("/clients/" + "c" * 49)
        assert stored_clients(intake) == 0
    assert too_long.status_code == too_many.status_code == too_much.status_code == 422
    assert "last_name" in too_long.text and "presenting_concerns" in too_many.text


def test_a_nul_character_never_fails_the_server(service_client: Callable[..., Any]) -> None:
    """PostgreSQL cannot store NUL in text: such input is refused (422, nothing stored) where
    the database cannot keep it — never a 5xx (found by the fuzzing in test_fuzz_http.py)."""
    with service_client("intake") as intake:
        lookup = intake.get("/clients/c-%00")
        referral = intake.post("/referrals", json={**REFERRAL, "last_name": "Nul\x00Byte"})
        audit = intake.get("/audit", params={"client_ref": "\x00"})
        stored = stored_clients(intake)
    assert lookup.status_code in (404, 422) and audit.status_code in (200, 422)
    assert (referral.status_code, stored) in ((201, 1), (422, 0))
