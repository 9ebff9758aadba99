"""CPU-seconds and RSS of the service processes (and the broker and this driver), by psutil."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import psutil


@dataclass(frozen=True)
class Usage:
    cpu_s: float
    rss_mb: float


def usage(process: psutil.Process, children: bool = True) -> Usage:
    """A process (and its children): CPU seconds (user + system) and resident memory."""
    members = [process, *(process.children(recursive=True) if children else ())]
    cpu, rss = 0.0, 0
    for member in members:
        try:
            times = member.cpu_times()
            cpu += times.user + times.system
            rss += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return Usage(cpu_s=cpu, rss_mb=rss / 2**20)


@dataclass
class Monitor:
    """Peak RSS sampled every second; CPU-seconds as the difference of two snapshots."""

    pids: dict[str, int]
    interval_s: float = 1.0
    alone: tuple[str, ...] = ()  # processes measured without their children
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_loop, daemon=True,
                                        name="bench-monitor")

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def snapshot(self) -> dict[str, Usage]:
        result = {}
        for name, process in self.processes.items():
            try:
                result[name] = usage(process, children=name not in self.alone)
            except psutil.NoSuchProcess:
                continue
        for name, now in result.items():
            self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), now.rss_mb)
        return result

    def shares_mb(self) -> dict[str, dict[str, float]]:
        """Per process (without its children), the memory it alone holds (USS) and its share of
        what it maps with others (PSS: the libraries every service maps count once over all of
        them, where RSS counts them in each). Reads /proc/<pid>/smaps: at a step's end, not in
        the sampling loop."""
        found = {}
        for name, process in self.processes.items():
            try:
                full = process.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            found[name] = {"uss_mb_end": round(full.uss / 2**20, 1),
                           "pss_mb_end": round(getattr(full, "pss", 0) / 2**20, 1)}
        return found

    def reset_peaks(self) -> None:
        self.peak_rss_mb.clear()

    def _sample_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.snapshot()

    def suspend(self, names: list[str]) -> None:
        for name in names:
            self.processes[name].suspend()

    def resume(self, names: list[str]) -> None:
        for name in names:
            self.processes[name].resume()


def machine_busy_s() -> float:
    """CPU-seconds every process on the machine has used since boot (all cores)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def foreign_load(before: dict[str, Usage], after: dict[str, Usage], busy_s: float,
                 seconds: float) -> float:
    """Share of the machine's cores used by processes outside this run (other users' tests,
    say) while it measured: the noise the same-run baselines are there to put in context."""
    ours = sum(after[n].cpu_s - before[n].cpu_s for n in after if n in before)
    cores = psutil.cpu_count() or 1
    return round(max(0.0, busy_s - ours) / (seconds * cores), 3) if seconds > 0 else 0.0


def per_thousand_events(before: dict[str, Usage], after: dict[str, Usage], events: int,
                        peaks: dict[str, float],
                        shares: dict[str, dict[str, float]] | None = None
                        ) -> dict[str, dict[str, Any]]:
    """Per process: CPU-seconds per 1,000 pipeline events, peak and final RSS (and `shares`:
    final USS and PSS)."""
    figures: dict[str, dict[str, Any]] = {}
    for name, end in after.items():
        if name not in before:
            continue
        cpu = end.cpu_s - before[name].cpu_s
        figures[name] = {
            "cpu_s": round(cpu, 2),
            "cpu_s_per_1000_events": round(cpu * 1000 / events, 3) if events else None,
            "rss_mb_peak": round(max(peaks.get(name, 0.0), end.rss_mb), 1),
            "rss_mb_end": round(end.rss_mb, 1),
            **(shares or {}).get(name, {}),
        }
    return figures
