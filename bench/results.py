"""The results file (JSON under bench/results/): one run per broker, each with its own
baselines, steps, replay, summary and targets, all from the same commit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from bench import environment
from bench.stats import ratio
from carepath.settings import SERVICES, Settings

SCHEMA = "carepath-bench/1"  # one broker's run
FILE_SCHEMA = "carepath-bench/2"  # a results file: the runs on every broker measured
RESULTS_DIR = Path(__file__).resolve().parent / "results"
RSS_LIMIT_MB = 80.0
# What each broker's run must hold (dotted paths), checked before it is written.
REQUIRED = ("schema", "run_id", "environment.machine", "environment.broker",
            "environment.database", "environment.git.commit", "phases.ramp",
            "phases.baselines.b0", "phases.baselines.b1", "phases.baselines.b2", "phases.steps",
            "phases.replay",
            "summary", "targets", "duration_s")


def new(run_id: str, settings: Settings, databases: environment.Databases, options: Any,
        var_dir: Path, broker: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "run_id": run_id, "broker": broker["name"],
        "environment": {
            "machine": environment.machine(), "broker": broker,
            "database": databases.describe(), "git": environment.git_commit(),
            "service_settings": {"fetch_max_wait_ms": settings.fetch_max_wait_ms,
                                 "relay_idle_poll_s": settings.relay_idle_poll_s,
                                 "relay_idle_poll_max_s": settings.relay_idle_poll_max_s,
                                 "relay_batch_size": settings.relay_batch_size,
                                 "overrides": dict(options.service_env)},
            "run_directory": str(var_dir),
        },
        "options": dataclasses.asdict(options),
    }


def combine(run_id: str, runs: list[dict[str, Any]], failed: dict[str, str], *,
            duration_s: float) -> dict[str, Any]:
    """The results file: every broker's run, and whether they all ran on one commit."""
    git = environment.git_commit()
    commits = {r["environment"]["git"]["commit"] for r in runs} | {git["commit"]}
    return {"schema": FILE_SCHEMA, "run_id": run_id,
            "quick": any(r["options"].get("quick") for r in runs),
            "brokers": [r["broker"] for r in runs], "failed": failed,
            "git": git, "same_commit": len(commits) == 1,
            "duration_s": round(duration_s, 1), "runs": runs}


def finish(report: dict[str, Any]) -> dict[str, Any]:
    report["summary"] = summary(report["phases"])
    report["targets"] = targets(report["summary"], report["broker"])
    return report


def _step(phases: dict[str, Any], load: float) -> dict[str, Any]:
    return next((s for s in phases["steps"] if s["load"] == load), {})


def _lat(step: dict[str, Any], name: str, q: str) -> float | None:
    value = (step.get("latency_ms", {}).get(name) or {}).get(q)
    return float(value) if value is not None else None


def _cpu_ms_per_event(step: dict[str, Any]) -> float | None:
    """Every service's CPU per pipeline event, summed (CPU-s per 1,000 events = ms per event)."""
    figures = [p["cpu_s_per_1000_events"] for name, p in step.get("processes", {}).items()
               if name in SERVICES and p.get("cpu_s_per_1000_events") is not None]
    return round(sum(figures), 3) if figures else None


def summary(phases: dict[str, Any]) -> dict[str, Any]:
    b1 = phases["baselines"]["b1"]
    b1_half = b1["at_pipeline_half_load"]["latency_ms"]
    b2_max = phases["baselines"].get("b2", {}).get("max", {}).get("events_per_s")
    full, half = _step(phases, 1.0), _step(phases, 0.5)
    rss: dict[str, float] = {}
    pss: dict[str, float] = {}  # at each step's end; absent from runs before it was measured
    for step in phases["steps"]:
        for name, figures in step["processes"].items():
            rss[name] = max(rss.get(name, 0.0), figures["rss_mb_peak"])
            if "pss_mb_end" in figures:
                pss[name] = max(pss.get(name, 0.0), figures["pss_mb_end"])
    pairs = {"journey_event": "one_hop", "journey_transition": "two_hops",
             "first_notification": "notification_two_hops"}
    return {
        "max_sustainable_journeys_per_s": phases["ramp"]["max_journeys_per_s"],
        "pipeline_events_per_s_at_max": full.get("events_per_s"),
        "b0_events_per_s": phases["baselines"]["b0"]["max"]["events_per_s"],
        "b1_events_per_s": b1["max"]["events_per_s"],
        "throughput_ratio_to_b1": ratio(full.get("events_per_s"), b1["max"]["events_per_s"], 4),
        "b2_events_per_s": b2_max,
        "throughput_ratio_to_b2": ratio(full.get("events_per_s"), b2_max, 4),
        "cpu_ms_per_pipeline_event": _cpu_ms_per_event(full),
        "latency_ratio_to_b1_at_half_load": {
            name: {q: ratio(_lat(half, name, q), (b1_half.get(base) or {}).get(q), 2)
                   for q in ("p50", "p99")} for name, base in pairs.items()},
        "transition_p99_ms_at_half_load": _lat(half, "journey_transition", "p99"),
        "rebuild_ratio_to_raw": phases["replay"]["ratio_to_raw"],
        "interop_rebuild_ratio_to_raw": phases["replay"].get("interop", {}).get("ratio_to_raw"),
        "peak_rss_mb": {name: round(mb, 1) for name, mb in sorted(rss.items())},
        "pss_mb_at_step_end": {name: round(mb, 1) for name, mb in sorted(pss.items())},
        "integrity": {k: sum(s["integrity"][k] for s in phases["steps"])
                      for k in ("lost", "duplicated", "out_of_order")},
    }


# Round one's sustained pipeline on 2 cores (issue 17's "today"): the embedded target is 10x it.
ROUND_ONE_EVENTS_PER_S = 92.0


def targets(s: dict[str, Any], broker: str) -> dict[str, Any]:
    """Issue 17's targets, judged from this broker's run."""
    services = {k: v for k, v in s["peak_rss_mb"].items() if k not in ("broker", "driver")}

    def target(goal: str, value: Any, met: bool | None) -> dict[str, Any]:
        return {"target": goal, "value": value, "met": met}

    def at_most(value: float | None, limit: float) -> bool | None:
        return None if value is None else value <= limit

    def at_least(value: float | None, limit: float) -> bool | None:
        return None if value is None else value >= limit

    floor = 1000.0 if broker == "kafka" else 10 * ROUND_ONE_EVENTS_PER_S
    events = s["pipeline_events_per_s_at_max"]
    return {
        "throughput": target(f">= {floor:,.0f} events/s", events, at_least(events, floor)),
        "throughput_vs_b2": target(">= 0.5 x B2", s["throughput_ratio_to_b2"],
                                   at_least(s["throughput_ratio_to_b2"], 0.5)),
        "cpu_per_event": target("<= 1.5 CPU-ms per pipeline event, all services summed",
                                s["cpu_ms_per_pipeline_event"],
                                at_most(s["cpu_ms_per_pipeline_event"], 1.5)),
        "transition_visible_p99": target("<= 250 ms at half load",
                                         s["transition_p99_ms_at_half_load"],
                                         at_most(s["transition_p99_ms_at_half_load"], 250.0)),
        "rebuild": target(">= 0.25 x raw consume", s["rebuild_ratio_to_raw"],
                          at_least(s["rebuild_ratio_to_raw"], 0.25)),
        "rss": target(f"<= {RSS_LIMIT_MB:.0f} MB per service", max(services.values(), default=None),
                      all(mb <= RSS_LIMIT_MB for mb in services.values()) if services else None),
        "integrity": target("0 lost / duplicated / out of order", s["integrity"],
                            not any(s["integrity"].values())),
    }


def missing(report: dict[str, Any]) -> list[str]:
    """What a results file (or one broker's run) lacks, as dotted paths."""
    if report.get("schema") == FILE_SCHEMA:
        if not report.get("runs"):
            return ["runs"]
        return [f"runs.{run.get('broker', i)}.{gap}" for i, run in enumerate(report["runs"])
                for gap in missing(run)]
    gaps = []
    for path in REQUIRED:
        node: Any = report
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                gaps.append(path)
                break
            node = node[part]
    return gaps


def write(report: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    gaps = missing(report)
    if gaps:
        raise ValueError(f"results lack {gaps}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report['run_id']}.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    return path
