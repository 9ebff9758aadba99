"""`python -m bench.readme [bench/results/<run>.json ...]`: the README's Performance tables from
one or more results files (the newest one by default): for each run (a broker and a database)
its load steps with its own B0/B1/B2, its processes and its targets, then all side by side.
Paste the output between the `bench tables` markers of README.md's Performance section."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import results, table


def newest(directory: Path = results.RESULTS_DIR) -> Path:
    """The latest results file holding runs on every broker (profiles are skipped)."""
    for path in sorted(directory.glob("2*.json"), reverse=True):
        if json.loads(path.read_text()).get("schema") == results.FILE_SCHEMA:
            return path
    raise SystemExit(f"no results file of schema {results.FILE_SCHEMA} in {directory}")


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _step(report: dict[str, Any], load: float) -> dict[str, Any]:
    return next((s for s in report["phases"]["steps"] if s["load"] == load), {})


def _p99(report: dict[str, Any], load: float) -> str:
    lat = _step(report, load).get("latency_ms", {}).get("journey_transition")
    return "–" if not lat else f"{lat['p99']:.0f} ms"


def _shares(summary: dict[str, Any]) -> str:
    """The services' PSS at the steps' ends (runs since round eight), after their RSS."""
    pss = [mb for name, mb in (summary.get("pss_mb_at_step_end") or {}).items()
           if name not in ("broker", "driver")]
    return f" (PSS {_n(min(pss))}–{_n(max(pss))} MB)" if pss else ""


def target_rows(report: dict[str, Any]) -> list[str]:
    """Issue 17's targets, with this broker's figures."""
    s, t, replay = report["summary"], report["targets"], report["phases"]["replay"]
    services = [mb for name, mb in s["peak_rss_mb"].items() if name not in ("broker", "driver")]
    i = s["integrity"]

    def met(name: str) -> str:
        return {True: "yes", False: "no", None: "n/a"}[t[name]["met"]]

    def goal(name: str) -> str:
        return str(t[name]["target"]).replace(">=", "≥").replace("<=", "≤").replace(" x ", " × ")

    return [
        "| target (issue 17) | goal | this run | met |", "|---|---|---|---|",
        f"| sustainable throughput | {goal('throughput')} | "
        f"{_n(s['pipeline_events_per_s_at_max'])} events/s | {met('throughput')} |",
        f"| throughput ÷ B2 | {goal('throughput_vs_b2')} | {_x(s['throughput_ratio_to_b2'])} "
        f"({_n(s['b2_events_per_s'])} events/s) | {met('throughput_vs_b2')} |",
        f"| CPU per pipeline event | {goal('cpu_per_event')} | "
        f"{_n(s['cpu_ms_per_pipeline_event'])} ms | {met('cpu_per_event')} |",
        f"| a transition visible in the journey, p99 | {goal('transition_visible_p99')} | "
        f"{_p99(report, 0.5)} at 50% load ({_p99(report, 1.0)} at 100%) | "
        f"{met('transition_visible_p99')} |",
        f"| journey rebuild by replay | {goal('rebuild')} | "
        f"{_n(replay['rebuild_events_per_s'])} vs {_n(replay['raw_events_per_s'])} events/s: "
        f"{_pct(s['rebuild_ratio_to_raw'])} ({_n(replay['rebuild_s_for_all'])} s for "
        f"{_n(replay['events_on_topics'])} events) | {met('rebuild')} |",
        f"| memory | ≤ {results.RSS_LIMIT_MB:.0f} MB RSS per service | "
        f"{_n(min(services, default=None))}–{_n(max(services, default=None))} MB peak under "
        f"load{_shares(s)} | {met('rss')} |",
        f"| integrity | 0 lost, duplicated, out of order | {i['lost']} / {i['duplicated']} / "
        f"{i['out_of_order']} | {met('integrity')} |",
    ]


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value} ×"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def section(files: list[tuple[dict[str, Any], Path]]) -> str:
    """The tables of every run in `files` (each a results file and its path), then all of them
    side by side."""
    lines = ["Latest runs; each broker's B0, B1 and B2 were measured against it in the same run, "
             "and the ratios compare the pipeline with them:", ""]
    runs: list[dict[str, Any]] = []
    for data, path in files:
        if data.get("schema") != results.FILE_SCHEMA:
            raise SystemExit(f"{path} is not a results file of schema {results.FILE_SCHEMA}")
        if data.get("quick"):
            raise SystemExit(f"{path} is a --quick smoke run: its figures mean nothing")
        if any(run["options"].get("max_rate") for run in data["runs"]):
            raise SystemExit(f"{path} ran at a given --max-rate: it found no maximum")
        machine = data["runs"][0]["environment"]["machine"]
        lines.append(f"- `bench/results/{path.name}`: commit {(data['git']['commit'] or '?')[:10]}"
                     f", {machine['logical_cpus']} shared cores, "
                     f"{data['duration_s'] / 60:.0f} min; "
                     + "; ".join(table.setting(run) for run in data["runs"]))
        runs += data["runs"]
    for run in runs:
        lines += ["", f"### {table.setting(run)}", "",
                  *table.load_table(run), "", *table.process_table(run), "",
                  *table.breakdown(run), *target_rows(run)]
    if len(runs) > 1:
        lines += ["", "### Side by side", "", *table.side_by_side(runs)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or [newest()]
    print(section([(json.loads(path.read_text()), path) for path in paths]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
