"""Generate the JSON Schemas of every event payload and of the envelope into contracts/schemas/.

The committed files are the released contracts: `python -m contracts.schemas` (or
`make contracts`) rewrites them only when every change is backward compatible (see
`contracts.compat`); a breaking change needs a new event version instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts.compat import Breaking, breaking_changes, load_committed
from contracts.envelope import EVENT_TYPES, Envelope

SCHEMA_DIR = Path(__file__).parent / "schemas"
ENVELOPE = "envelope"


def generated() -> dict[str, dict[str, Any]]:
    """Every schema the code defines, by file name."""
    schemas: dict[str, dict[str, Any]] = {f"{ENVELOPE}.json": Envelope.model_json_schema()}
    for type_name, cls in sorted(EVENT_TYPES.items()):
        schema = cls.model_json_schema()
        schema["$id"] = cls.schema_uri()
        schemas[f"{type_name}.json"] = schema
    return schemas


def by_contract(schemas: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name.removesuffix(".json"): schema for name, schema in schemas.items()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def breaking(directory: Path = SCHEMA_DIR) -> list[Breaking]:
    """What the code would break if its schemas replaced the committed ones in `directory`."""
    return breaking_changes(load_committed(directory), by_contract(generated()))


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Schema files that are missing from `directory` or differ from what the code generates."""
    return [name for name, schema in generated().items()
            if not (directory / name).exists() or (directory / name).read_text() != render(schema)]


class BreakingChange(Exception):
    def __init__(self, changes: list[Breaking]) -> None:
        super().__init__("\n".join(str(change) for change in changes))
        self.changes = changes


def write(directory: Path = SCHEMA_DIR, *, accept_breaking: bool = False) -> list[Path]:
    """Rewrite the committed schemas; refuses a breaking change unless told to accept it."""
    changes = breaking(directory)
    if changes and not accept_breaking:
        raise BreakingChange(changes)
    directory.mkdir(exist_ok=True)
    written = []
    for name, schema in generated().items():
        path = directory / name
        if not path.exists() or path.read_text() != render(schema):
            path.write_text(render(schema))
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.schemas")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail if a schema is stale or a change is breaking")
    parser.add_argument("--accept-breaking", action="store_true",
                        help="only for an event no consumer has ever seen: overwrite anyway")
    args = parser.parse_args(argv)
    if args.check:
        return _check()
    try:
        written = write(accept_breaking=args.accept_breaking)
    except BreakingChange as exc:
        print(f"breaking contract changes (add a new event version instead):\n{exc}",
              file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


def _check() -> int:
    changes, outdated = breaking(), stale()
    for change in changes:
        print(f"breaking: {change}", file=sys.stderr)
    for name in outdated:
        print(f"stale: contracts/schemas/{name} (run `make contracts`)", file=sys.stderr)
    return 1 if changes or outdated else 0


if __name__ == "__main__":
    sys.exit(main())
