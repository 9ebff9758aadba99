"""Generate the JSON Schemas of every event payload and of the envelope into contracts/schemas/.

Run `python -m contracts.schemas` (or `make contracts`) after changing a contract.
"""

import json
import sys
from pathlib import Path
from typing import Any

from contracts.envelope import EVENT_TYPES, Envelope

SCHEMA_DIR = Path(__file__).parent / "schemas"


def generated() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {"envelope.json": Envelope.model_json_schema()}
    for type_name, cls in sorted(EVENT_TYPES.items()):
        schema = cls.model_json_schema()
        schema["$id"] = cls.schema_uri()
        schemas[f"{type_name}.json"] = schema
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for name, schema in generated().items():
        path = SCHEMA_DIR / name
        path.write_text(render(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    sys.exit(0)
