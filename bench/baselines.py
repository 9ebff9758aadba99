"""B0 (raw aiokafka produce -> consume), B1 (a raw aiokafka chain with the pipeline's six
processes and hops, trivial transforms) and B2 (B1 with Carepath's durable writes per event in
plain SQL, each stage on its own database: bench/durable.py), on the broker and the database
the pipeline uses, in the same run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from bench.monitor import usage
from bench.raw import StageConfig
from bench.stats import per_second
from carepath.messaging.kafka import ensure_topics

ROOT = Path(__file__).resolve().parent.parent
# B1 mirrors the pipeline: who consumes which topic, and which input a stage emits on.
B1_STAGES: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "assessment": ("relay", ["intake", "placement", "scheduling"], {"intake": "assessment"}),
    "placement": ("relay", ["assessment"], {"assessment": "placement"}),
    "scheduling": ("relay", ["placement"], {"placement": "scheduling"}),
    "notification": ("relay", ["intake", "assessment", "placement", "scheduling"],
                     {"placement": "notification"}),
    "journey": ("sink", ["intake", "assessment", "placement", "scheduling", "notification"], {}),
}
B1_TOPICS = ("intake", "assessment", "placement", "scheduling", "notification")
B1_FANOUT = len(B1_TOPICS)  # messages the journey sink sees per source message


class Baselines:
    def __init__(self, bootstrap: str, work_dir: Path, run_id: str, *,
                 session_timeout_ms: int, partitions: int,
                 new_database: Callable[[str], str]) -> None:
        self.bootstrap = bootstrap
        self.new_database = new_database
        self.work_dir = work_dir
        self.run_id = run_id
        self.session_timeout_ms = session_timeout_ms
        self.partitions = partitions
        self.runs = 0

    def b0(self, *, count: int, rate: float | None) -> dict[str, Any]:
        prefix, warmup = self._prefix("b0"), _warmup(rate)
        sink = self._config("sink", f"{prefix}.sink", inputs=[f"{prefix}.b0"],
                            count=count + warmup, warmup=warmup)
        results, cpu = self._run([sink], self._source(prefix, "b0", count, rate, warmup))
        received = results[sink.name]
        elapsed = received["last"] - results["source"]["started"]
        return {"messages": count, "offered_rate": rate,
                "events_per_s": per_second(received["received"], elapsed),
                "produce_per_s": per_second(count, results["source"]["finished"]
                                            - results["source"]["started"]),
                "latency_ms": received["latency_ms"].get("b0@0"), "cpu_s": cpu}

    def b1(self, *, count: int, rate: float | None) -> dict[str, Any]:
        return self._chain("b1", count=count, rate=rate, durable=False)

    def b2(self, *, count: int, rate: float | None) -> dict[str, Any]:
        return self._chain("b2", count=count, rate=rate, durable=True)

    def _chain(self, kind: str, *, count: int, rate: float | None, durable: bool
               ) -> dict[str, Any]:
        prefix, warmup = self._prefix(kind), _warmup(rate)
        stages = [self._config(role, f"{prefix}.{name}",
                               inputs=[f"{prefix}.{t}" for t in inputs],
                               routes={f"{prefix}.{a}": f"{prefix}.{b}" for a, b in routes.items()},
                               count=(count + warmup) * B1_FANOUT, warmup=warmup,
                               database_url=(self.new_database(f"{kind}_{self.runs}_{name}")
                                             if durable else ""))
                  for name, (role, inputs, routes) in B1_STAGES.items()]
        results, cpu = self._run(stages, self._source(prefix, "intake", count, rate, warmup))
        received = results[f"{prefix}.journey"]
        elapsed = received["last"] - results["source"]["started"]
        latency = received["latency_ms"]
        return {"source_messages": count, "events": received["received"],
                "offered_source_rate": rate,
                "events_per_s": per_second(received["received"], elapsed),
                "latency_ms": {"one_hop": latency.get("intake@0"),
                               "two_hops": latency.get("placement@1"),
                               "notification_two_hops": latency.get("notification^1")},
                "cpu_s": cpu, "processes": 1 + len(stages),
                **({"durable_rows": _durable_rows(stages, results)} if durable else {})}

    def _prefix(self, kind: str) -> str:
        self.runs += 1
        return f"bench.{self.run_id}.{kind}{self.runs}"

    def _source(self, prefix: str, topic: str, count: int, rate: float | None, warmup: int
                ) -> StageConfig:
        return self._config("source", "source", output=f"{prefix}.{topic}", count=count,
                            rate=rate, warmup=warmup,
                            result_path=str(self.work_dir / f"{prefix}.source.json"))

    def _config(self, role: str, name: str, **values: Any) -> StageConfig:
        values.setdefault("result_path", str(self.work_dir / f"{name}.json"))
        return StageConfig(role=role, bootstrap=self.bootstrap, name=name,
                           session_timeout_ms=self.session_timeout_ms, **values)

    def _run(self, stages: list[StageConfig], source: StageConfig
             ) -> tuple[dict[str, Any], dict[str, float]]:
        topics = {t for s in stages for t in s.inputs} | {source.output}
        asyncio.run(ensure_topics(self.bootstrap, self.partitions, extra=tuple(sorted(topics))))
        running = {s.name: self._spawn(s) for s in stages}
        cpu: dict[str, float] = {}
        try:
            self._wait_ready(stages, running)
            running["source"] = self._spawn(source)
            sinks = [s.name for s in stages if s.role == "sink"]
            while any(running[n].poll() is None for n in [*sinks, "source"]):
                cpu |= _cpu(running)
                time.sleep(0.2)
            cpu |= _cpu(running)
        finally:
            for process in running.values():
                if process.poll() is None:
                    process.terminate()
            for process in running.values():
                process.wait(30)
        results = {s.name: json.loads(Path(s.result_path).read_text()) for s in stages
                   if Path(s.result_path).exists()}
        results["source"] = json.loads(Path(source.result_path).read_text())
        return results, {name: round(seconds, 2) for name, seconds in cpu.items()}

    def _spawn(self, config: StageConfig) -> subprocess.Popen[bytes]:
        log = (self.work_dir / f"{config.name}.log").open("ab")
        return subprocess.Popen([sys.executable, "-m", "bench.raw", json.dumps(asdict(config))],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def _wait_ready(self, stages: list[StageConfig],
                    running: dict[str, subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + 90
        while not all(s.ready_path.exists() for s in stages):
            failed = [n for n, p in running.items() if p.poll() is not None]
            if failed or time.monotonic() > deadline:
                raise RuntimeError(f"baseline stages not ready (exited: {failed}); "
                                   f"see logs in {self.work_dir}")
            time.sleep(0.1)


def _durable_rows(stages: list[StageConfig], results: dict[str, Any]
                  ) -> dict[str, dict[str, int]]:
    """Per stage, the rows its durable writes left (proof that B2 wrote what it claims)."""
    return {stage.name.rsplit(".", 1)[-1]: {table: results[stage.name][table]
                                            for table in ("inbox", "state", "outbox")}
            for stage in stages if stage.name in results}


def _warmup(rate: float | None) -> int:
    """Latency runs start with a few messages that open connections and load metadata."""
    return 20 if rate else 0


def _cpu(running: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    seconds = {}
    for name, process in running.items():
        try:
            seconds[name.rsplit(".", 1)[-1]] = usage(psutil.Process(process.pid)).cpu_s
        except psutil.Error:
            continue
    return seconds
