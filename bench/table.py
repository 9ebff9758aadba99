"""The tables a run prints (Markdown, so they can go into the README as they are): per broker,
the load steps with that broker's B0/B1, the processes and the targets; then the brokers side
by side."""

from __future__ import annotations

from typing import Any

from bench.brokers import label
from carepath.settings import SERVICES

SERVICE_ORDER = (*SERVICES, "broker", "driver")


def _ms(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "–"
    return f"{summary['p50']:.0f} / {summary['p95']:.0f} / {summary['p99']:.0f}"


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def header(report: dict[str, Any]) -> list[str]:
    env = report["environment"]
    machine, git = env["machine"], env["git"]
    commit = (git["commit"] or "unknown")[:10] + (" (+ local changes)" if git["dirty"] else "")
    ramp = report["phases"]["ramp"]
    phases = report.get("phase_s") or {}
    return [
        f"Run {report['run_id']} · commit {commit} · {machine['logical_cpus']} CPUs "
        f"({machine['cpu_model']}), load avg {machine['load_average'][0]} at start · "
        f"broker: {label(env['broker'])} · database: {env['database']['kind']} · "
        f"{report['duration_s']:.0f} s"
        + (" (" + ", ".join(f"{k.replace('_', ' ')} {v:.0f}" for k, v in phases.items())
           + ")" if phases else ""),
        "Maximum sustainable rate (journeys kept up, consumer lag flat): "
        f"{_n(ramp['max_journeys_per_s'], 2)} journeys/s ≈ {_n(ramp['max_events_per_s'])} "
        "events/s · other load: share of the cores used by processes outside this run during a "
        "step",
    ]


def load_table(report: dict[str, Any]) -> list[str]:
    rows = ["| load | journeys/s offered | events/s | journeys/min | completed ÷ due | "
            "event in journey p50/p95/p99 ms | transition in journey p50/p95/p99 ms | first "
            "notification p50/p95/p99 ms | lost / dup / out-of-order | other load |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for s in report["phases"]["steps"]:
        lat, i = s["latency_ms"], s["integrity"]
        rows.append(f"| {s['load']:.0%} | {s['offered_journeys_per_s']:.2f} | "
                    f"{_n(s['events_per_s'], 1)} | {_n(s['journeys_per_min'], 1)} | "
                    f"{_n(s.get('lag', {}).get('completed_share'), 2)} | "
                    f"{_ms(lat['journey_event'])} | {_ms(lat['journey_transition'])} | "
                    f"{_ms(lat['first_notification'])} | "
                    f"{i['lost']} / {i['duplicated']} / {i['out_of_order']} | "
                    f"{_pct(s.get('foreign_cpu_share'))} |")
    base = report["phases"]["baselines"]
    b0, b1 = base["b0"], base["b1"]
    b1_lat = b1["at_pipeline_half_load"]["latency_ms"]
    rows.append(f"| B0 raw produce→consume | – | {_n(b0['max']['events_per_s'])} | – | – | "
                f"{_ms(b0['at_pipeline_half_load']['latency_ms'])} (1 hop) | – | – | – | – |")
    rows.append(f"| B1 raw 6-process chain | – | {_n(b1['max']['events_per_s'])} | – | – | "
                f"{_ms(b1_lat['one_hop'])} (1 hop) | {_ms(b1_lat['two_hops'])} (2 hops) | "
                f"{_ms(b1_lat['notification_two_hops'])} (2 hops) | – | – |")
    if "b2" in base:  # results from before B2 existed lack it
        b2_lat = base["b2"]["at_pipeline_half_load"]["latency_ms"]
        rows.append(f"| B2 B1 + durable writes in plain SQL | – | "
                    f"{_n(base['b2']['max']['events_per_s'])} | – | – | "
                    f"{_ms(b2_lat['one_hop'])} (1 hop) | {_ms(b2_lat['two_hops'])} (2 hops) | "
                    f"{_ms(b2_lat['notification_two_hops'])} (2 hops) | – | – |")
    return rows


def process_table(report: dict[str, Any]) -> list[str]:
    steps = {s["load"]: s for s in report["phases"]["steps"]}
    shown = [load for load in (0.5, 1.0) if load in steps]
    peak = report["summary"]["peak_rss_mb"]
    pss = report["summary"].get("pss_mb_at_step_end") or {}  # runs since round eight
    heads = [f"CPU-s / 1,000 events at {load:.0%}" for load in shown] + ["peak RSS MB"]
    if pss:
        heads.append("PSS MB at step end")
    # Runs since round eleven: events per consume transaction (and the share of one-event
    # transactions) at each step shown.
    sized = [load for load in shown if steps[load].get("consume_transactions")]
    heads += [f"events / consume tx at {load:.0%} (one-event share)" for load in sized]
    rows = ["| process | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for name in SERVICE_ORDER:
        cells = [_n(steps[load]["processes"].get(name, {}).get("cpu_s_per_1000_events"), 2)
                 for load in shown] + [_n(peak.get(name), 0)]
        if pss:
            cells.append(_n(pss.get(name), 0))
        cells += [_batch(steps[load]["consume_transactions"].get(name)) for load in sized]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def _batch(sizes: dict[str, Any] | None) -> str:
    if not sizes or sizes["events_per_transaction"] is None:
        return "–"
    return f"{sizes['events_per_transaction']:.2f} ({sizes['one_event_share']:.0%})"


def breakdown(report: dict[str, Any]) -> list[str]:
    half: dict[str, Any] = next((s for s in report["phases"]["steps"] if s["load"] == 0.5), {})
    parts = half.get("latency_breakdown_ms") or {}
    if not parts:
        return []
    return ["At 50% load, where an assessment's transition spends its time (p50 / p99 ms): " +
            "; ".join(f"{name.replace('_', ' ')} {_ms2(summary)}"
                      for name, summary in parts.items()), ""]


def _ms2(summary: dict[str, Any] | None) -> str:
    return "–" if not summary else f"{summary['p50']:.0f} / {summary['p99']:.0f}"


def closing(report: dict[str, Any]) -> list[str]:
    r, s = report["phases"]["replay"], report["summary"]
    lines = [*breakdown(report),
        f"Replay: rebuilt the journey read model at {_n(r['rebuild_events_per_s'])} events/s "
        f"({'all' if r['rebuild_finished'] else 'stopped at the time limit after'} "
        f"{_n(r['rebuilt_events'])} of {_n(r['events_on_topics'])} events; "
        f"{_n(r['rebuild_s_for_all'])} s for all) vs raw aiokafka consumption at "
        f"{_n(r['raw_events_per_s'])} events/s: ratio {r['ratio_to_raw']}"
        + (f"; the interop read model at {_n(r['interop']['rebuild_events_per_s'])} events/s: "
           f"ratio {r['interop']['ratio_to_raw']}" if "interop" in r else ""),
        f"Pipeline vs B1: throughput ratio {s['throughput_ratio_to_b1']}; at 50% load, "
        "latency ratios (p50, p99): " + ", ".join(
            f"{name} {v['p50']}, {v['p99']}"
            for name, v in s["latency_ratio_to_b1_at_half_load"].items()),
        "", "| target | goal | value | met |", "|---|---|---|---|",
    ]
    for name, t in report["targets"].items():
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(f"| {name} | {t['target']} | {t['value']} | {met} |")
    return lines


def render(report: dict[str, Any]) -> str:
    """One broker's run."""
    parts = [header(report), [""], load_table(report), [""], process_table(report), [""],
             closing(report)]
    return "\n".join(line for part in parts for line in part)


def render_all(results: dict[str, Any]) -> str:
    """A results file: each broker's run in turn, then the brokers side by side."""
    git = results["git"]
    lines = [f"Bench {results['run_id']} · commit {(git['commit'] or 'unknown')[:10]}"
             + (" (+ local changes)" if git["dirty"] else "")
             + f" · {', '.join(results['brokers']) or 'no broker'} · "
             f"{results['duration_s']:.0f} s in all"]
    if results.get("quick"):
        lines.append("QUICK run (--quick): a smoke test of the bench; the figures mean nothing.")
    if not results.get("same_commit", True):
        lines.append("WARNING: the commit changed during the run; the brokers' figures are "
                     "not from one commit.")
    for run in results["runs"]:
        lines += ["", f"## {label(run['environment']['broker'])}", "", render(run)]
    for name, error in results.get("failed", {}).items():
        lines += ["", f"## {name}: FAILED", "", error]
    if len(results["runs"]) > 1:
        lines += ["", "## Side by side", "", *side_by_side(results["runs"])]
    return "\n".join(lines)


def _ratio2(value: Any) -> str:
    return "–" if value is None else f"{value} ×"


def setting(run: dict[str, Any]) -> str:
    """The broker and the database a run measured, e.g. `Apache Kafka 4.4.0 (...) + PostgreSQL
    15.18`."""
    env = run["environment"]
    database = env["database"]
    stored = (f"PostgreSQL {database['server_version'].split()[0]}"
              if database["kind"] == "postgresql" else "SQLite")
    return f"{label(env['broker'])} + {stored}"


def side_by_side(runs: list[dict[str, Any]]) -> list[str]:
    """The brokers as columns: rates, each broker's own baselines and the targets as ratios
    to them."""
    def row(name: str, cell: Any) -> str:
        return f"| {name} | " + " | ".join(cell(r) for r in runs) + " |"

    def s(run: dict[str, Any]) -> dict[str, Any]:
        summary: dict[str, Any] = run["summary"]
        return summary

    def half(run: dict[str, Any]) -> dict[str, Any]:
        return next((x for x in run["phases"]["steps"] if x["load"] == 0.5), {})

    def transition(run: dict[str, Any]) -> str:
        lat = half(run).get("latency_ms", {}).get("journey_transition")
        return "–" if not lat else f"{lat['p50']:.0f} / {lat['p99']:.0f}"

    def ratios(run: dict[str, Any]) -> str:
        r = s(run)["latency_ratio_to_b1_at_half_load"]["journey_transition"]
        return f"{_ratio2(r['p50'])} / {_ratio2(r['p99'])}"

    def met(run: dict[str, Any]) -> str:
        judged = [t["met"] for t in run["targets"].values() if t["met"] is not None]
        return f"{sum(judged)} of {len(judged)}"

    def integrity(run: dict[str, Any]) -> str:
        i = s(run)["integrity"]
        return f"{i['lost']} / {i['duplicated']} / {i['out_of_order']}"

    return [
        "| | " + " | ".join(setting(r) for r in runs) + " |",
        "|---|" + "---|" * len(runs),
        row("maximum sustainable journeys/s",
            lambda r: _n(s(r)["max_sustainable_journeys_per_s"], 2)),
        row("events/s at 100%", lambda r: _n(s(r)["pipeline_events_per_s_at_max"], 1)),
        row("B0 raw produce→consume events/s", lambda r: _n(s(r)["b0_events_per_s"])),
        row("B1 raw 6-process chain events/s", lambda r: _n(s(r)["b1_events_per_s"])),
        row("throughput ÷ B1", lambda r: _ratio2(s(r)["throughput_ratio_to_b1"])),
        row("B2 (B1 + durable writes) events/s", lambda r: _n(s(r).get("b2_events_per_s"))),
        row("throughput ÷ B2", lambda r: _ratio2(s(r).get("throughput_ratio_to_b2"))),
        row("CPU ms per pipeline event (all services)",
            lambda r: _n(s(r).get("cpu_ms_per_pipeline_event"), 2)),
        row("transition in journey at 50%, p50 / p99 ms", transition),
        row("… ÷ B1's two hops, p50 / p99", ratios),
        row("rebuild ÷ raw consumption", lambda r: _ratio2(s(r)["rebuild_ratio_to_raw"])),
        row("interop's rebuild ÷ raw consumption",
            lambda r: _ratio2(s(r).get("interop_rebuild_ratio_to_raw"))),
        row("lost / dup / out-of-order", integrity),
        row("targets met", met),
    ]
