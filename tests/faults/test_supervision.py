"""`carepath run` supervises its services, as an operator runs it: kill -9 of each service in
turn while clients move, and each comes back, the runner with it, every client ending exactly
once where it should; SIGTERM then stops everything."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from carepath.dev.client import RATINGS, ApiError, CarepathClient
from carepath.dev.demo import PatientClient
from carepath.dev.platform import service_ready
from carepath.settings import SERVICE_PORTS, SERVICES
from tests.faults.conftest import (
    BIG,
    EXPECTED_EVENTS,
    doubled_effects,
    events_by_client,
    wait_level,
)
from tests.support import EventTap, bindable, of_type, wait_until

ROOT = Path(__file__).parents[2]
CAREPATH = Path(sys.executable).parent / "carepath"


def free_ports() -> tuple[int, int]:
    """A journey port with the next six free (--base-port), and the broker's port."""
    rng = random.Random()
    while True:
        base = rng.randrange(20000, 31000)
        broker = base + 50
        if all(bindable(port) for port in (*range(base, base + len(SERVICES)), broker)):
            return base, broker


def processes_with(*wanted: bytes) -> dict[int, bytes]:
    """The processes on this machine whose command line has every one of `wanted` as an
    argument (or, for a URL, inside one), by pid."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        args = cmdline.split(b"\0")
        if all(any(arg == want or (b"://" in want and want in arg) for arg in args)
               for want in wanted):
            found[int(proc.name)] = cmdline
    return found


def serving_pids(port: int) -> list[int]:
    """The `carepath serve <service> --port <port>` processes."""
    return list(processes_with(b"serve", b"--port", str(port).encode()))


def still_running(pid: int, cmdline: bytes) -> bool:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes() == cmdline
    except OSError:
        return False


class Runner:
    """`carepath run --no-demo` as a subprocess on its own ports and var dir."""

    def __init__(self, var_dir: Path) -> None:
        self.base, self.broker_port = free_ports()
        self.ports = {service: self.base + port - SERVICE_PORTS["journey"]
                      for service, port in SERVICE_PORTS.items()}
        self.output = var_dir / "runner.out"
        self.started: dict[int, bytes] = {}
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("CAREPATH_KAFKA_BOOTSTRAP", "CAREPATH_TEST_"))
               and not name.endswith("_DATABASE_URL")}
        env.update(CAREPATH_VAR_DIR=str(var_dir / "var"), PYTHONUNBUFFERED="1",
                   CAREPATH_CONSUMER_SESSION_TIMEOUT_MS="1000")  # fast group joins
        with self.output.open("wb") as sink:
            self.process = subprocess.Popen(
                [str(CAREPATH), "run", "--no-demo", "--base-port", str(self.base),
                 "--broker-port", str(self.broker_port)],
                stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def stdout(self) -> str:
        return self.output.read_text(errors="replace")

    def log_tail(self, service: str) -> str:
        log = self.output.parent / "var" / "logs" / f"{service}.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"

    def pid(self, service: str) -> int | None:
        pids = serving_pids(self.ports[service])
        return pids[0] if len(pids) == 1 else None

    def ready(self, service: str) -> bool:
        assert self.process.poll() is None, f"carepath run exited:\n{self.stdout()}"
        return service_ready(self.url(service), service)

    def note_processes(self) -> None:
        """Remember the runner's service and broker processes now running (by port: other
        Carepaths may run on this machine), to check that it leaves none behind."""
        for service in SERVICES:
            self.started.update(processes_with(b"serve", b"--port",
                                               str(self.ports[service]).encode()))
        self.started.update(processes_with(b"broker",
                                           f"tcp://127.0.0.1:{self.broker_port}".encode()))

    def leftovers(self) -> dict[int, str]:
        return {pid: cmdline.replace(b"\0", b" ").decode(errors="replace")
                for pid, cmdline in self.started.items() if still_running(pid, cmdline)}

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=90)

    def force_stop(self) -> None:
        """After a failure: leave nothing behind."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.note_processes()
        for pid in self.leftovers():
            os.kill(pid, signal.SIGKILL)


# A command whose connection the kill cut: it may or may not have been done. (Refused
# connections are retried by the client's patience: those requests never arrived.)
CUT_OFF = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def walk_through_kills(api: CarepathClient, index: int) -> str:
    """tests/faults/conftest.py's walk_the_path (referral -> residential -> php -> iop ->
    aftercare), except that a command cut off by a kill -9 is sent again only if the service,
    once back, has not done it: as a careful person at the keyboard would."""
    site = "boston" if index % 2 == 0 else "worcester"
    while True:
        try:
            ref: str = api.refer(site_id=site, first_name="Supervised", date_of_birth="1985-05-05",
                                 last_name=f"Client{index}", referral_source="self")["client_ref"]
            break
        except CUT_OFF:
            continue  # a referral cut off and done stays one that nobody walks further
    for prior, (kind, level) in enumerate((("initial", "residential"), ("reassessment", "php"),
                                           ("reassessment", "iop"))):
        while not assessed(api, ref, kind, level, prior):
            pass
        wait_level(api, ref, level)
    while True:
        try:
            api.discharge(ref, "completed", reason_code="goals_met")
            break
        except CUT_OFF:
            if api.placement(ref)["level"] != "iop":
                break  # done before the kill: once more would discharge from aftercare
    wait_level(api, ref, "aftercare")
    return ref


def assessed(api: CarepathClient, ref: str, kind: str, level: str, prior: int) -> bool:
    """One assessment (the rules recommend `level`, no override); False if it was cut off
    before being done."""
    try:
        api.assess(ref, kind=kind, dimensions=RATINGS[level], timeout=120)
        return True
    except CUT_OFF:
        try:
            return len(api.call("GET", "assessment", f"/clients/{ref}/assessments")) > prior
        except ApiError as error:
            if error.status_code == 404:  # assessment had not heard of the client yet
                return False
            raise


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    running = Runner(tmp_path)
    try:
        wait_until(lambda: all(running.ready(service) for service in SERVICES), timeout=180)
        running.note_processes()
        yield running
    finally:
        running.force_stop()


def test_carepath_run_restarts_each_service_killed_while_clients_move(runner: Runner) -> None:
    # The demo's client: it also reads again when a kill cuts a read off.
    api = PatientClient({service: runner.url(service) for service in SERVICES}, patience=90,
                        timeout=30)
    for site in ("boston", "worcester"):  # no waitlists: every client takes the same path
        api.call("PUT", "placement", f"/sites/{site}/capacity", json=BIG)
    tap = EventTap(f"127.0.0.1:{runner.broker_port}").start()
    kills_done = threading.Event()
    replaced: dict[str, tuple[int, int]] = {}

    def kill_each_service_in_turn() -> None:
        try:
            wait_until(lambda: len(tap.collected(of_type("ClientAdmitted"))) >= 2, timeout=120)
            for service in SERVICES:
                moved = len(tap.collected())
                wait_until(lambda m=moved: len(tap.collected()) >= m + 10, timeout=120)
                old = runner.pid(service)
                assert old is not None
                os.kill(old, signal.SIGKILL)
                try:
                    new = wait_until(lambda s=service, o=old: runner.ready(s)
                                     and runner.pid(s) not in (None, o) and runner.pid(s),
                                     timeout=180)
                except AssertionError as late:  # say why: the runner's lines, the log's end
                    raise AssertionError(f"{service} did not come back: {late}\n"
                                         f"{runner.stdout()[-3000:]}\n{runner.log_tail(service)}"
                                         ) from None
                assert isinstance(new, int)
                replaced[service] = (old, new)
                runner.note_processes()
        finally:
            kills_done.set()

    counter = itertools.count()

    def walk_while_killing() -> list[str]:
        refs = []
        while not kills_done.is_set():
            refs.append(walk_through_kills(api, next(counter)))
        return refs

    try:
        with ThreadPoolExecutor(max_workers=7) as pool:
            walkers = [pool.submit(walk_while_killing) for _ in range(6)]
            pool.submit(kill_each_service_in_turn).result()
            refs = [ref for walker in walkers for ref in walker.result()]

        assert set(replaced) == set(SERVICES)
        assert runner.process.poll() is None
        out = runner.stdout()
        for service in SERVICES:
            assert f"service {service} exited (signal 9); restarting in" in out
            assert f"service {service} restarted (pid {replaced[service][1]}" in out
        assert "CRASH-LOOPING" not in out

        # Every client ends exactly once where it should: all its events, none twice.
        wait_until(lambda: all(c == EXPECTED_EVENTS
                               for c in events_by_client(tap, refs).values()), timeout=120)
        assert doubled_effects(tap) == []
        for ref in refs:
            placement = api.placement(ref)
            assert (placement["level"], placement["status"]) == ("aftercare", "active")
    finally:
        tap.stop()
        api.close()

    assert len(runner.started) == 1 + 2 * len(SERVICES)  # the broker, and two of each
    assert runner.terminate() == 0, runner.stdout()
    assert "Stopped." in runner.stdout()
    assert runner.leftovers() == {}, runner.stdout()
