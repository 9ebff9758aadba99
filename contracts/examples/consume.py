"""A minimal analytics consumer of Carepath's topics: reads every event from the beginning and
prints it under its client, then each client's path when it stops.

Needs only Python 3.11 and aiokafka (`pip install aiokafka`); no Carepath code, so it is what
an outside consumer would write. Run it against `make run`:

    python contracts/examples/consume.py                      # until Ctrl-C
    python contracts/examples/consume.py --idle-exit 5        # stop 5 s after the last event
    python contracts/examples/consume.py --group my-analytics # resume where the group left off

Every record is a CloudEvents 1.0 event in structured JSON mode; the Kafka key is its subject,
the client_ref pseudonym. Delivery is at least once, so events are deduplicated on `id`.
Every event carries `securitylabels: 42CFRPart2`: substance-use treatment data whose
redisclosure 42 CFR Part 2 restricts — keep what you derive inside your own protected store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer

TOPICS = [f"carepath.{service}.v1"
          for service in ("intake", "assessment", "placement", "scheduling", "notification")]


class ClientPaths:
    """What this consumer keeps: each client's events, once each, in arrival order."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.by_client: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, event: dict[str, Any]) -> bool:
        if event["id"] in self.seen:
            return False
        self.seen.add(event["id"])
        self.by_client[event["subject"]].append(event)
        return True


def describe(event: dict[str, Any]) -> str:
    """`c-1a2b3c  2026-01-05T09:00:00Z  boston  placement.SteppedDown.v1  residential -> php`"""
    _, service, name, version = event["type"].split(".")
    data = event.get("data", {})
    detail = " -> ".join(str(data[k]) for k in ("from_level", "to_level") if k in data) or str(
        data.get("level") or data.get("disposition") or data.get("status") or "")
    return (f"{event['subject']}  {event['time']}  {event.get('siteid', '-')}  "
            f"{service}.{name}.{version}  {detail}").rstrip()


async def consume(paths: ClientPaths, *, bootstrap: str, group: str | None,
                  idle_exit: float | None, max_events: int | None) -> None:
    consumer = AIOKafkaConsumer(*TOPICS, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=group is not None,
                                fetch_max_wait_ms=100)
    await consumer.start()
    last = time.monotonic()
    try:
        while max_events is None or len(paths.seen) < max_events:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    last = time.monotonic()
                    _print_new(paths, record.value or b"")
            if idle_exit is not None and time.monotonic() - last > idle_exit:
                break
    finally:
        await consumer.stop()


def _print_new(paths: ClientPaths, raw: bytes) -> None:
    try:
        event = json.loads(raw)
        if event.get("specversion") != "1.0" or not str(event.get("type")).startswith("carepath"):
            raise ValueError("not a Carepath CloudEvent")
    except ValueError as exc:
        print(f"skipped a record: {exc}", file=sys.stderr)
        return
    if paths.add(event):
        print(describe(event), flush=True)


def summarise(paths: ClientPaths) -> None:
    print(f"\n{len(paths.by_client)} client(s), {len(paths.seen)} event(s)")
    for client, events in sorted(paths.by_client.items()):
        steps = " -> ".join(e["type"].split(".")[2] for e in sorted(events,
                                                                   key=lambda e: e["time"]))
        print(f"{client}: {steps}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default=os.environ.get("CAREPATH_KAFKA_BOOTSTRAP",
                                                              "127.0.0.1:19092"))
    parser.add_argument("--group", help="a consumer group, to commit offsets and resume; "
                                        "without one, every run reads from the beginning")
    parser.add_argument("--idle-exit", type=float, help="stop after this many idle seconds")
    parser.add_argument("--max-events", type=int, help="stop after this many distinct events")
    args = parser.parse_args()
    paths = ClientPaths()
    try:
        asyncio.run(consume(paths, bootstrap=args.bootstrap, group=args.group,
                            idle_exit=args.idle_exit, max_events=args.max_events))
    except KeyboardInterrupt:
        pass
    summarise(paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
