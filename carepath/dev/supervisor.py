"""`carepath run` supervises its services: one that exits unexpectedly is restarted with
exponential backoff, one line to the operator per death and per restart, and the others keep
running. A crash loop is reported loudly and retried at the longest backoff, never hidden.

`RestartPolicy` decides (pure: the caller passes the clock); `Supervisor` watches a `Platform`'s
processes from a background thread and acts. Supervision is opt-in: the end-to-end and fault
tests kill and restart services themselves on a `Platform` nobody supervises."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carepath.dev.platform import Platform


@dataclass(frozen=True)
class Restart:
    """What to do about one death: restart after `delay_s`; `number` counts this service's
    restarts since the platform started; `crash_looping` when it dies too often."""

    delay_s: float
    number: int
    crash_looping: bool


@dataclass
class RestartPolicy:
    """Backoff for one service: `initial_s` doubling to `max_s` on each death in a row, back to
    `initial_s` once it has stayed up `stable_s`. `loop_deaths` deaths within `loop_window_s`
    make a crash loop, retried at `max_s` until the service stays up `stable_s` again."""

    initial_s: float = 0.5
    max_s: float = 30.0
    stable_s: float = 30.0
    loop_deaths: int = 5
    loop_window_s: float = 60.0
    restarts: int = 0
    crash_looping: bool = False
    _streak: int = 0  # deaths since the service last stayed up stable_s
    _deaths: deque[float] = field(default_factory=deque)
    _started_at: float | None = None

    def started(self, now: float) -> None:
        self._started_at = now

    def died(self, now: float) -> Restart:
        if self._started_at is not None and now - self._started_at >= self.stable_s:
            self._streak = 0
        self._started_at = None
        self._streak += 1
        self._deaths.append(now)
        while now - self._deaths[0] > self.loop_window_s:
            self._deaths.popleft()
        self.crash_looping = len(self._deaths) >= self.loop_deaths
        self.restarts += 1
        delay = self.max_s if self.crash_looping else min(
            self.max_s, self.initial_s * 2 ** (self._streak - 1))
        return Restart(delay_s=delay, number=self.restarts, crash_looping=self.crash_looping)

    def recovered(self, now: float) -> bool:
        """True once, when a crash-looping service has stayed up `stable_s` since its restart."""
        if (self.crash_looping and self._started_at is not None
                and now - self._started_at >= self.stable_s):
            self.crash_looping = False
            self._deaths.clear()
            self._streak = 0
            return True
        return False


def describe_exit(returncode: int) -> str:
    """`signal 9` for a process a signal ended (Popen's negative code), else `exit code 70`."""
    if returncode < 0:
        return f"signal {-returncode}"
    return f"exit code {returncode}"


def say(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')}  [supervisor] {text}", flush=True)


@dataclass
class _Watched:
    policy: RestartPolicy
    restart_at: float | None = None  # set while dead: when to start it again
    awaiting_ready: bool = False  # restarted, not yet answering /readyz


class Supervisor:
    """Watches every service process of a started `Platform` (taken at `start()`) and restarts
    the ones that exit; `stop()` before `Platform.stop()`, so that nothing restarts what the
    platform is stopping."""

    def __init__(self, platform: Platform, *,
                 policy: Callable[[], RestartPolicy] = RestartPolicy,
                 report: Callable[[str], None] = say, interval_s: float = 0.2) -> None:
        self.platform = platform
        self.policy = policy
        self.report = report
        self.interval_s = interval_s
        self.watched: dict[str, _Watched] = {}
        self._broker_reported = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carepath-supervisor",
                                        daemon=True)

    def start(self) -> Supervisor:
        self.watch(time.monotonic())
        self._thread.start()
        return self

    def watch(self, now: float) -> None:
        """Take every process the platform has started now (`start()` does, then checks)."""
        for instance in self.platform.processes:
            self.watched[instance] = _Watched(self.policy())
            self.watched[instance].policy.started(now)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.check(time.monotonic())
            except Exception as exc:  # the supervisor must outlive any one error
                self.report(f"could not check the services: {exc!r}; retrying")

    def check(self, now: float) -> None:
        """One pass over every watched process: note deaths, restart those due, report back."""
        for instance, watched in self.watched.items():
            if self._stopping.is_set():
                return
            process = self.platform.processes[instance]
            if watched.restart_at is not None:
                if now >= watched.restart_at:
                    self._restart(instance, watched, now)
            elif process.poll() is not None:
                self._died(instance, watched, process.returncode, now)
            elif watched.awaiting_ready:
                if self.platform.ready(instance):
                    watched.awaiting_ready = False
                    self.report(f"service {instance} is ready again (pid {process.pid})")
            elif watched.policy.recovered(now):
                self.report(f"service {instance} has stayed up {watched.policy.stable_s:.0f}s: "
                            "no longer crash-looping")
        self._check_broker()

    def _died(self, instance: str, watched: _Watched, returncode: int, now: float) -> None:
        restart = watched.policy.died(now)
        watched.restart_at = now + restart.delay_s
        watched.awaiting_ready = False
        self.report(f"service {instance} exited ({describe_exit(returncode)}); restarting in "
                    f"{restart.delay_s:.1f}s (restart {restart.number})")
        if restart.crash_looping:
            policy = watched.policy
            log = self.platform.log_path(instance)
            self.report(f"!!! service {instance} is CRASH-LOOPING: {policy.loop_deaths}+ deaths "
                        f"within {policy.loop_window_s:.0f}s; retrying every "
                        f"{policy.max_s:.0f}s. See its log: {log}"
                        + (f" (last line: {last})" if (last := _last_line(log)) else ""))

    def _restart(self, instance: str, watched: _Watched, now: float) -> None:
        service, _, replica = instance.partition("#")
        self.platform.start_service(service, replica=int(replica or 1))
        watched.policy.started(now)
        watched.restart_at = None
        watched.awaiting_ready = True
        self.report(f"service {instance} restarted (pid {self.platform.processes[instance].pid}, "
                    f"restart {watched.policy.restarts})")

    def _check_broker(self) -> None:
        """The embedded broker holds every event in memory: restarting it would not bring them
        back, so its death is reported (once) rather than repaired."""
        broker = self.platform.broker
        if (self._broker_reported or broker is None or broker.process is None
                or broker.process.poll() is None):
            return
        self._broker_reported = True
        self.report(f"!!! the embedded broker exited ({describe_exit(broker.process.returncode)})"
                    ": it held every event in memory and the services cannot work without it. "
                    "Stop (Ctrl-C) and start `carepath run` again.")


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as file:
            file.seek(0, 2)
            file.seek(max(0, file.tell() - 4096))
            lines = [line for line in file.read().decode(errors="replace").splitlines()
                     if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:300] if lines else ""

