"""Open-loop arrivals: synthetic clients start on a Poisson schedule whether or not earlier ones
have finished (a client that cannot start because too many are in flight is counted as shed)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from bench.journeys import JourneyRecord, SyntheticClient
from bench.rates import poisson_offsets


@dataclass
class Phase:
    rate: float
    started: float  # epoch seconds
    ended: float = 0.0
    futures: list[Future[JourneyRecord]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # epoch seconds, shed ones too
    shed: int = 0


def finished(phase: Phase) -> list[tuple[JourneyRecord, float]]:
    """The journeys of `phase` finished so far, each with its finish (epoch seconds)."""
    return [(record, record.finished_at) for future in phase.futures
            if future.done() and future.exception() is None
            and (record := future.result()).finished_at is not None]


def journey_s(phase: Phase) -> float:
    """How long the journeys of `phase` that have finished took, 90th percentile (0: none)."""
    took = sorted(done - record.started_at for record, done in finished(phase))
    return took[int(0.9 * (len(took) - 1))] if took else 0.0


class OpenLoop:
    def __init__(self, walker: SyntheticClient, max_in_flight: int = 256) -> None:
        self.walker = walker
        self.max_in_flight = max_in_flight
        self.pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="client")
        self._in_flight = 0
        self._lock = threading.Lock()
        self._next_index = 0

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def arrive(self, rate: float, duration_s: float, seed: int) -> Phase:
        """Start clients at `rate` per second for `duration_s` (blocks for that long)."""
        phase = Phase(rate=rate, started=time.time())
        origin = time.monotonic()
        for offset in poisson_offsets(rate, duration_s, seed):
            time.sleep(max(0.0, origin + offset - time.monotonic()))
            phase.arrivals.append(phase.started + offset)
            if not self._admit():
                phase.shed += 1
                continue
            future = self.pool.submit(self._walk, self._index(), phase.started + offset)
            phase.futures.append(future)
        time.sleep(max(0.0, origin + duration_s - time.monotonic()))
        phase.ended = time.time()
        return phase

    def finish(self, phase: Phase, timeout_s: float) -> tuple[list[JourneyRecord], int]:
        """The phase's finished journeys, and how many were still walking at the timeout."""
        done, pending = wait(phase.futures, timeout=timeout_s)
        return [future.result() for future in phase.futures if future in done], len(pending)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _admit(self) -> bool:
        with self._lock:
            if self._in_flight >= self.max_in_flight:
                return False
            self._in_flight += 1
            return True

    def _index(self) -> int:
        with self._lock:
            self._next_index += 1
            return self._next_index

    def _walk(self, index: int, scheduled_at: float) -> JourneyRecord:
        try:
            return self.walker.walk(index, scheduled_at)
        finally:
            with self._lock:
                self._in_flight -= 1
