"""Intake rules: what a valid referral is, and pseudonyms for clients and their contacts."""

import secrets
from datetime import date

from carepath.errors import InvalidInput


def mint_ref(prefix: str) -> str:
    """An opaque pseudonym: random, carries nothing about the person."""
    return f"{prefix}-{secrets.token_hex(8)}"


def check_site(site_id: str, known_sites: set[str]) -> None:
    if site_id not in known_sites:
        raise InvalidInput(f"unknown site {site_id!r}; known sites: {sorted(known_sites)}")


def check_birth_date(born: date, today: date) -> None:
    if born > today:
        raise InvalidInput("date_of_birth is in the future")
    if born.year < 1900:
        raise InvalidInput("date_of_birth is before 1900")
