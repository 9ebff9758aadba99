"""`carepath run`'s supervision without processes: the restart policy, and the supervisor over
a platform of fake processes (tests/faults/test_supervision.py runs the real thing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carepath.dev.supervisor import RestartPolicy, Supervisor, describe_exit


def deaths(policy: RestartPolicy, times: list[float], up_s: float = 0.0) -> list[Any]:
    """Each death at `t`, the service having been started `up_s` before it."""
    verdicts = []
    for t in times:
        policy.started(t - up_s)
        verdicts.append(policy.died(t))
    return verdicts


def test_the_backoff_doubles_from_half_a_second_to_thirty():
    policy = RestartPolicy(loop_deaths=100)
    verdicts = deaths(policy, [i * 100.0 for i in range(10)], up_s=1.0)
    assert [v.delay_s for v in verdicts] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert [v.number for v in verdicts] == list(range(1, 11))
    assert not any(v.crash_looping for v in verdicts)


def test_a_service_that_stayed_up_a_while_starts_the_backoff_afresh():
    policy = RestartPolicy()
    first = deaths(policy, [0.0, 10.0, 20.0], up_s=1.0)
    assert [v.delay_s for v in first] == [0.5, 1, 2]
    later = deaths(policy, [200.0], up_s=policy.stable_s)
    assert later[0].delay_s == 0.5
    assert later[0].number == 4  # the count of restarts is kept for the log


def test_five_deaths_within_a_minute_are_a_crash_loop_retried_at_the_longest_backoff():
    policy = RestartPolicy()
    verdicts = deaths(policy, [0.0, 2.0, 5.0, 10.0, 20.0, 60.0], up_s=0.5)
    assert [v.crash_looping for v in verdicts] == [False, False, False, False, True, True]
    assert [v.delay_s for v in verdicts[4:]] == [30.0, 30.0]
    assert policy.crash_looping


def test_deaths_spread_wider_than_the_window_are_no_crash_loop():
    policy = RestartPolicy()
    verdicts = deaths(policy, [0.0, 20.0, 40.0, 60.0, 80.0], up_s=0.5)
    assert not any(v.crash_looping for v in verdicts)


def test_a_crash_loop_ends_once_the_service_stays_up():
    policy = RestartPolicy()
    deaths(policy, [0.0, 1.0, 2.0, 3.0, 4.0], up_s=0.1)
    assert policy.crash_looping
    policy.started(40.0)
    assert not policy.recovered(40.0 + policy.stable_s - 1)
    assert policy.recovered(40.0 + policy.stable_s)
    assert not policy.recovered(40.0 + policy.stable_s + 1)  # reported once
    assert not policy.crash_looping
    assert policy.died(100.0).delay_s == 0.5


def test_exits_are_described_by_signal_or_code():
    assert describe_exit(-9) == "signal 9"
    assert describe_exit(70) == "exit code 70"


class FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


class FakePlatform:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.broker = None
        self.pids = iter(range(100, 1000))
        self.processes = {name: FakeProcess(next(self.pids)) for name in ("intake", "placement")}
        self.answering: set[str] = set()

    def start_service(self, service: str, *, replica: int = 1) -> str:
        instance = service if replica == 1 else f"{service}#{replica}"
        self.processes[instance] = FakeProcess(next(self.pids))
        return instance

    def ready(self, instance: str) -> bool:
        return instance in self.answering

    def log_path(self, instance: str) -> Path:
        return self.var_dir / "logs" / f"{instance}.log"


def supervised(tmp_path: Path) -> tuple[FakePlatform, Supervisor, list[str]]:
    """A supervisor without its thread: the test drives check() with its own clock."""
    platform = FakePlatform(tmp_path)
    lines: list[str] = []
    supervisor = Supervisor(platform, report=lines.append)  # type: ignore[arg-type]
    supervisor.watch(0.0)
    return platform, supervisor, lines


def test_the_supervisor_restarts_only_the_service_that_died_after_its_backoff(tmp_path: Path):
    platform, supervisor, lines = supervised(tmp_path)
    intake = platform.processes["intake"]
    placement = platform.processes["placement"]
    placement.returncode = -9
    supervisor.check(1.0)
    assert lines == ["service placement exited (signal 9); restarting in 0.5s (restart 1)"]
    supervisor.check(1.4)
    assert platform.processes["placement"] is placement  # not yet: backoff
    supervisor.check(1.5)
    assert platform.processes["placement"] is not placement
    assert platform.processes["intake"] is intake and intake.returncode is None
    new_pid = platform.processes["placement"].pid
    assert lines[-1] == f"service placement restarted (pid {new_pid}, restart 1)"
    supervisor.check(2.0)
    assert len(lines) == 2  # not answering yet
    platform.answering.add("placement")
    supervisor.check(2.5)
    assert lines[-1] == f"service placement is ready again (pid {new_pid})"


def test_a_crash_loop_is_reported_with_the_services_log(tmp_path: Path):
    platform, supervisor, lines = supervised(tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "intake.log").write_text("starting\nValueError: bad config\n\n")
    now = 0.0
    for _ in range(5):
        now += 1.0
        platform.processes["intake"].returncode = 1
        supervisor.check(now)
        restart_at = supervisor.watched["intake"].restart_at
        assert restart_at is not None
        now = restart_at
        supervisor.check(now)  # restarted
    loud = [line for line in lines if "CRASH-LOOPING" in line]
    assert len(loud) == 1
    assert str(tmp_path / "logs" / "intake.log") in loud[0]
    assert "ValueError: bad config" in loud[0]
    assert "restarting in 30.0s (restart 5)" in lines[lines.index(loud[0]) - 1]
    assert platform.processes["intake"].returncode is None  # it keeps retrying
