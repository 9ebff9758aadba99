"""The live demo behind `make run`: synthetic clients (no real people) move through the
continuum of care over the services' HTTP APIs while you watch."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from carepath.dev.client import ApiError, CarepathClient
from carepath.dev.platform import Platform
from carepath.dev.synthetic import CARE_PATH
from carepath.settings import SERVICES
from contracts.envelope import event_name_of

READMITTED = 15  # the demo client who completes aftercare and is later referred again
HELD_FOR = 1  # the demo client a worcester bed is held for before their admission
# Utilization review: the demo organization's payers (config/placement.yaml); every sixth
# client's payer authorizes a day only (AuthorizationExpiring), and every sixth from the fifth
# has no authorization at all (UnauthorizedStay).
DEMO_PAYERS = ("bcbs-ma", "masshealth", "tufts-hp")
EXPIRING, UNAUTHORIZED = 1, 5
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Riley", "Casey", "Morgan", "Taylor", "Jamie"]
# Longer than a service takes to come back when `carepath run` restarts it (its supervisor's
# longest backoff, 30 s, and a start): a demo client waits for the service rather than stopping.
DEMO_PATIENCE = 90.0
_print_lock = threading.Lock()
_quiet = threading.Event()  # set when the demo is interrupted: its clients' threads say nothing


def say(client_ref: str, site: str, text: str) -> None:
    with _print_lock:
        if _quiet.is_set():
            return
        print(f"  {time.strftime('%H:%M:%S')}  {client_ref}  {site:<9}  {text}", flush=True)


class PatientClient(CarepathClient):
    """Also waits out a service that died in the middle of a read (a reset connection rather
    than a refused one): reading again is safe. A command cut off that way may have been done,
    so it is not repeated: its demo client stops early, and says so."""

    def request(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        if method != "GET":
            return super().request(method, service, path, **kwargs)
        deadline = time.monotonic() + self.patience
        while True:
            try:
                return super().request(method, service, path, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


class DemoClient:
    def __init__(self, api: CarepathClient, index: int) -> None:
        self.api = api
        self.index = index
        self.site = "boston" if index % 2 == 0 else "worcester"
        self.rng = random.Random(index)
        self.ref = ""
        self.readmitted = False
        self.authorized = False  # a payer's authorization was recorded (or left out) once

    def pause(self, low: float = 1.0, high: float = 2.5) -> None:
        """Paced so a person can follow the stream (and so residential beds fill up)."""
        time.sleep(self.rng.uniform(low, high))

    def run(self) -> str:
        self.refer()
        start = CARE_PATH.first_level_of(self.rng, among=("residential", "iop"))
        if self.index == HELD_FOR:
            self.hold_bed(start)
        self.assess("initial", start)
        self.await_level(start, timeout=120)
        self.arrive()
        if start == "residential":
            self.pause(9.0, 13.0)  # a stay long enough for worcester's 8 beds to fill
            self.step_down_by_reassessment("php")
            if self.index == 3:
                self.transfer("worcester" if self.site == "boston" else "boston")
            self.step_down_by_reassessment("iop")
        if self.index % 5 == 2 and self.relapse_signs():
            self.step_down_by_reassessment("iop")
        self.complete_iop()
        if self.index == READMITTED:
            self.complete_aftercare()
            self.readmit("iop")
        return self.ref

    def refer(self) -> None:
        body: dict[str, Any] = {
            "site_id": self.site, "first_name": self.rng.choice(FIRST_NAMES),
            "last_name": f"Demo{self.index:02d}", "date_of_birth": f"19{70 + self.index}-03-14",
            "referral_source": self.rng.choice(["self", "family", "hospital", "clinician"]),
            "presenting_concerns": ["(synthetic demo client)"],
            "family_contacts": [{"name": "Demo Relative", "relationship": "parent"}],
        }
        created = self.api.refer(**body)
        self.ref = created["client_ref"]
        say(self.ref, self.site, "referred")
        if self.index % 3 == 0:
            recipient = created["family_contacts"][0]["recipient_ref"]
            today = datetime.now(UTC).date()
            self.api.call("POST", "intake", f"/clients/{self.ref}/consents", json={
                "recipient_ref": recipient, "purpose": "treatment_updates",
                "information": ["level_of_care", "admission_discharge"],
                "expires_at": str(today + timedelta(days=180)), "signed_at": str(today)})
            say(self.ref, self.site, "consent recorded for a family member (42 CFR 2.31: "
                "moves and admissions, 180 days)")
        if self.index % 6 == EXPIRING:  # its payer's concurrent review may be told
            today = datetime.now(UTC).date()
            self.api.call("POST", "intake", f"/clients/{self.ref}/consents", json={
                "recipient_ref": f"payer-{DEMO_PAYERS[0]}", "purpose": "payment",
                "information": ["level_of_care", "utilization_review"],
                "expires_at": str(today + timedelta(days=365)), "signed_at": str(today)})
            say(self.ref, self.site, f"consent recorded for the payer {DEMO_PAYERS[0]} "
                "(42 CFR 2.31: utilization review, a year)")

    def assess(self, kind: str, level: str) -> None:
        self.pause()
        result = self.api.assess_to(self.ref, kind=kind, level=level, timeout=60)
        say(self.ref, self.site, f"{kind} assessment -> {result['final_level']}")

    def await_level(self, level: str, timeout: float = 60) -> dict[str, Any]:
        told_waitlisted = False

        def placed(placement: dict[str, Any]) -> bool:
            nonlocal told_waitlisted
            if placement.get("waitlisted_for") and not told_waitlisted:
                told_waitlisted = True
                wanted = placement["waitlisted_for"]
                say(self.ref, self.site, f"WAITLISTED for {wanted['level']} "
                    f"(position {wanted['position']}: no free slot)")
            return bool(placement["status"] == "active" and placement["level"] == level)

        placement = self.api.wait_placement(self.ref, placed, timeout)
        self.site = placement["site_id"]
        say(self.ref, self.site, f"now in {level}" + (" (from the waitlist)"
                                                      if told_waitlisted else ""))
        self.authorize(level)
        return placement  # type: ignore[no-any-return]

    def hold_bed(self, level: str) -> None:
        """Intake promises a bed to this client before the assessment: their admission uses it
        (BedHoldReleased `used`), even if the place fills up meanwhile."""
        now = datetime.now(UTC)
        try:
            self.api.call("POST", "placement", f"/sites/{self.site}/holds", json={
                "level": level, "client_ref": self.ref,
                "expected_arrival": (now + timedelta(minutes=1)).isoformat(),
                "expires_at": (now + timedelta(days=1)).isoformat()})
        except ApiError as error:  # e.g. no free bed to hold: admitted or waitlisted as usual
            say(self.ref, self.site, f"no {level} bed could be held ({error.status_code})")
            return
        say(self.ref, self.site, f"a {level} bed is HELD for this client until admission")

    def authorize(self, level: str) -> None:
        """The care team records the payer's authorization of the level the client is now in:
        days for residential and PHP, sessions for IOP and aftercare (utilization review)."""
        first = not self.authorized
        self.authorized = True
        if self.index % 6 == UNAUTHORIZED:
            if first:
                say(self.ref, self.site, f"no payer authorization for {level}: utilization "
                    "review counts the unauthorized days")
            return
        today = datetime.now(UTC).date()
        days = 1 if self.index % 6 == EXPIRING else self.rng.choice((7, 14, 21))
        amount = ("approved_days", days) if level in ("residential", "php") else (
            "approved_sessions", 12)
        self.api.call("POST", "placement", f"/clients/{self.ref}/authorizations", json={
            "payer_ref": DEMO_PAYERS[0] if days == 1 else self.rng.choice(DEMO_PAYERS),
            "level": level, amount[0]: amount[1],
            "starts_on": str(today), "ends_on": str(today + timedelta(days=days)),
            "authorization_number": f"DEMO-{self.index:02d}-{level[:3].upper()}"})
        if first or days == 1:
            say(self.ref, self.site, f"{level} authorized by the payer for {days} day(s)" + (
                ": the UR check will report it expiring" if days == 1 else ""))

    def step_down_by_reassessment(self, level: str) -> None:
        self.assess("reassessment", level)
        self.await_level(level, timeout=120)

    def transfer(self, to_site: str) -> None:
        self.pause()
        current = self.api.placement(self.ref)["level"]
        self.api.transition(self.ref, to_level=current, to_site=to_site,
                            reason_code="closer_to_home")
        self.api.wait_placement(self.ref, lambda p: p["site_id"] == to_site, 60)
        self.site = to_site
        say(self.ref, to_site, "transferred")

    def relapse_signs(self) -> bool:
        """Missed sessions and a positive tox screen raise a flag, and the flag a step-up
        proposal; the demo then acts as the clinician. True if the client stepped up."""
        sessions = self.api.wait(
            lambda: [s for s in self.api.sessions(self.ref, status="scheduled")
                     if s["level"] == "iop"], lambda s: len(s) >= 2, 30)
        for session in sessions[:2]:
            self.pause()
            self.api.attend(session["session_id"], "missed")
            say(self.ref, self.site, f"missed {session['kind'].replace('_', ' ')}")
        self.api.observe(self.ref, "tox_screen", "positive")
        say(self.ref, self.site, "positive tox screen")
        proposal = self.open_proposal()
        say(self.ref, self.site, f"step-up PROPOSED {proposal['from_level']} -> "
            f"{proposal['to_level']} (flag {proposal['flag_id']}): awaiting a clinician")
        self.pause()
        if self.index % 10 == 7:
            self.api.decline_proposal(proposal["proposal_id"], "managed_at_current_level")
            say(self.ref, self.site, "clinician DECLINED the step up (managed at current level)")
            return False
        self.api.confirm_proposal(self.ref, proposal["proposal_id"],
                                  to_level=proposal["to_level"])
        self.await_level(proposal["to_level"], timeout=60)
        say(self.ref, self.site, "clinician CONFIRMED the step up")
        return True

    def open_proposal(self) -> dict[str, Any]:
        proposals = self.api.wait(
            lambda: [p for p in self.api.proposals(status="open") if p["client_ref"] == self.ref],
            bool, 60)
        return proposals[0]  # type: ignore[no-any-return]

    def complete_iop(self) -> None:
        self.pause()
        self.api.discharge(self.ref, "completed", reason_code="goals_met")
        self.await_level("aftercare", timeout=60)

    def complete_aftercare(self) -> None:
        self.pause()
        self.api.discharge(self.ref, "completed", reason_code="goals_met")
        self.api.wait_placement(self.ref, lambda p: p["status"] == "discharged", 60)
        say(self.ref, self.site, "discharged from aftercare (completed): the episode ends")

    def arrive(self) -> None:
        """The client turns up for their first session: an admission nobody arrives for is
        cancelled after a few days (config/placement.yaml)."""
        sessions = self.api.wait(lambda: self.api.sessions(self.ref, status="scheduled"),
                                 lambda found: len(found) > 0, 30)
        first = min(sessions, key=lambda session: session["starts_at"])
        self.api.attend(first["session_id"], "attended")
        say(self.ref, self.site, f"arrived: attended {first['kind'].replace('_', ' ')}")

    def readmit(self, level: str) -> None:
        ended = self.api.placement(self.ref)["episode_id"]
        self.pause(4.0, 6.0)
        self.api.rerefer(self.ref, site_id=self.site, referral_source="self")
        say(self.ref, self.site, "referred again")
        self.assess("initial", level)
        placement = self.await_level(level, timeout=120)
        self.arrive()
        self.readmitted = placement["episode_id"] != ended
        say(self.ref, self.site, "READMITTED (new episode)" if self.readmitted
            else "admitted again, unexpectedly within the ended episode")


def run_demo(platform: Platform, clients: int = 24) -> None:
    """The clients run on daemon threads: a service restarted meanwhile is waited for
    (DEMO_PATIENCE), a client that still fails stops early without stopping the others, and
    Ctrl-C (or SIGTERM) ends the demo at once."""
    api = PatientClient({service: platform.url(service) for service in SERVICES},
                        patience=DEMO_PATIENCE, token=platform.admin_token())
    print(f"\nDemo: {clients} synthetic clients across boston and worcester "
          "(residential -> PHP -> IOP -> aftercare; relapse signs propose a step up that a "
          "clinician confirms or declines; one client is readmitted).\n")
    hold_unclaimed_bed(api)
    demo_clients = [DemoClient(api, index) for index in range(clients)]
    outcomes: dict[int, str | Exception] = {}

    def run(client: DemoClient) -> None:
        try:
            outcomes[client.index] = client.run()
        except Exception as error:  # reported below, the others go on
            outcomes[client.index] = error

    threads = [threading.Thread(target=run, args=(client,), name=f"demo-client-{client.index}",
                                daemon=True) for client in demo_clients]
    try:
        for thread in threads:
            thread.start()
            time.sleep(0.4)
        for thread in threads:
            thread.join()
    except BaseException:
        _quiet.set()
        raise
    refs = []
    for client in demo_clients:
        outcome = outcomes.get(client.index, RuntimeError("no outcome"))
        if isinstance(outcome, str):
            refs.append(outcome)
        else:
            print(f"  a demo client stopped early: {outcome!r}"[:500], flush=True)
    time.sleep(1.0)
    try:
        print_summary(api, refs, readmitted=[c.ref for c in demo_clients if c.readmitted])
    except (ApiError, httpx.HTTPError) as error:
        print(f"\nNo summary: {error!r}", flush=True)


def hold_unclaimed_bed(api: CarepathClient) -> None:
    """A PHP bed at boston promised to a hospital discharge who never comes: the summary shows it
    held; two minutes on the hold expires (placement's periodic check, `checks.every_s`) and the
    bed goes back to the waitlist."""
    now = datetime.now(UTC)
    hold = api.call("POST", "placement", "/sites/boston/holds", json={
        "level": "php", "expected_arrival": (now + timedelta(seconds=10)).isoformat(),
        "expires_at": (now + timedelta(minutes=2)).isoformat()})
    say("(no client)", "boston", f"a php bed is HELD for an arrival from hospital (hold "
        f"{hold['hold_id'][:8]}); nobody comes: in two minutes it expires and frees the bed")


def print_summary(api: CarepathClient, refs: list[str], readmitted: list[str] | None = None
                  ) -> None:
    print("\nCensus (journey read model):")
    print(f"  {'site':<10} {'level':<12} {'occupied':>8} {'held':>5} {'free':>5} "
          f"{'capacity':>8} {'waitlist':>8}")
    for row in api.call("GET", "journey", "/census"):
        print(f"  {row['site_id']:<10} {row['level']:<12} {row['occupied']:>8} "
              f"{row['held']:>5} {row['free'] if row['free'] is not None else '-':>5} "
              f"{row['capacity']:>8} {row['waitlist']:>8}")
    print_utilization_review(api)
    print_forecast(api, "boston", "aftercare")
    print("\nFlows (from -> to: count):")
    for row in api.call("GET", "journey", "/flows"):
        print(f"  {row['from_level']:>11} -> {row['to_level']:<11} {row['count']}")
    print(f"\nStep-up proposals awaiting a clinician: {len(api.proposals(status='open'))}")
    for ref in readmitted or ():
        print(f"\nReadmitted: {ref}")
        print_episodes(api.journey(ref))
    if not refs:
        return
    ref = refs[2] if len(refs) > 2 else refs[0]
    journey = api.journey(ref)
    print(f"\nOne full journey: {ref}")
    print_episodes(journey)
    for event in journey["events"]:
        name = event_name_of(event["type"])
        print(f"    {event['time']}  {name:<22} {event['id']}  caused by {event['causation_id']}")


def print_utilization_review(api: CarepathClient) -> None:
    queue = api.call("GET", "journey", "/ur/queue", params={"due_within_days": 7})
    print(f"\nUtilization review queue (next 7 days): {len(queue)} client(s)")
    for item in queue[:8]:
        authorization = item["authorization"]
        ends = f"ends {authorization['ends_on']}" if authorization else "no authorization"
        print(f"  {item['client_ref']}  {item['site_id']:<10} {item['level']:<12} {ends:<26} "
              f"unauthorized days {item['unauthorized_days']}  [{', '.join(item['flags'])}]")


def print_forecast(api: CarepathClient, site: str, level: str, days: int = 7) -> None:
    forecast = api.call("GET", "journey", "/forecast",
                        params={"site_id": site, "level": level, "days": days})
    print(f"\nCensus forecast, {level} at {site} (capacity {forecast['capacity']}, "
          f"{forecast['occupied']} occupied now): expected census and its 80% interval")
    for day in forecast["days"]:
        print(f"  {day['date']}  {day['expected']:5.1f}  [{day['low']}..{day['high']}]  "
              f"in {day['admissions']:.1f}  out {day['discharges']:.1f}")
    for sentence in forecast["explained"][:3]:
        print(f"  - {sentence}")


def print_episodes(journey: dict[str, Any]) -> None:
    for episode in journey["episodes"]:
        print(f"  episode {episode['episode_id']} ({episode['status']})")
        for segment in episode["segments"]:
            print(f"    {segment['level']:<12} at {segment['site_id']:<10} "
                  f"{segment['started_at']} .. {segment.get('ended_at') or 'now'} "
                  f"({segment['los_days']} days)")
