"""Summaries of py-spy's raw (collapsed) stacks: where a process spent its GIL-holding time,
by library and by the project's own functions."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
# Checked from the leaf up: the first frame from one of these is where the time is charged
# (psycopg's own since round nine: before, its time was charged to the caller's library, or to
# `concurrent` for the worker thread's project code).
LIBRARIES = ("sqlite3", "psycopg", "sqlalchemy", "sqlmodel", "pydantic", "json", "aiokafka",
             "faststream", "fast_depends", "opentelemetry", "prometheus_client", "uvicorn",
             "starlette", "fastapi", "httpx", "logging", "uuid", "asyncio", "concurrent",
             "threading")
PROJECT = ("carepath/", "services/", "contracts/")


def parse_line(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rstrip().rpartition(" ")
    if not stack or not count.isdigit():
        return None
    frames = []
    for frame in stack.split(";"):
        match = FRAME.match(frame)
        frames.append((match["func"], match["file"]) if match else (frame, ""))
    return frames, int(count)


def library_of(file: str) -> str | None:
    for library in LIBRARIES:
        if file.startswith(library + "/") or f"/{library}/" in file or file == f"{library}.py":
            return library
    return None


def summarize_stacks(lines: Iterable[str], top: int = 12) -> dict[str, Any]:
    total, by_library = 0, Counter[str]()
    project, leaf = Counter[str](), Counter[str]()
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            continue
        frames, count = parsed
        total += count
        charged = next((lib for _, file in reversed(frames) if (lib := library_of(file))),
                       "other")
        by_library[charged] += count
        leaf[f"{frames[-1][0]} ({frames[-1][1]})"] += count
        for name in {f"{func} ({file})" for func, file in frames if file.startswith(PROJECT)}:
            project[name] += count

    def shares(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common(top)} if total else {}

    return {"samples": total, "by_library_pct": shares(by_library),
            "project_functions_inclusive_pct": shares(project), "leaf_functions_pct": shares(leaf)}
