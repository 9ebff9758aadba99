"""The compatibility gate: which changes to a committed JSON Schema break its consumers.

Within a version (`...vN`) a schema may only grow: a new optional field, a new enum value, a
looser bound. Everything else breaks someone and needs a new type name (`...vN+1`, its own
schema file) while the old version stays registered:

- a consumer replaying history with new code must accept every event valid under the committed
  schema, so nothing may be narrowed (new required field, enum value removed, bound tightened,
  pattern added or changed, extra fields forbidden, null no longer accepted);
- a consumer built against the committed schema must keep finding every field it relies on, of
  the same type, so nothing may be removed, renamed, retyped or made optional.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Schema = dict[str, Any]

UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
MUST_NOT_CHANGE = ("pattern", "format", "multipleOf")
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string",
              type(None): "null", list: "array", dict: "object"}


@dataclass(frozen=True)
class Breaking:
    """One breaking change: which contract, which field (dotted path), what happened."""

    contract: str
    field: str
    change: str

    def __str__(self) -> str:
        where = f"field '{self.field}'" if self.field else "the event"
        return f"{self.contract}: {where}: {self.change}"


def load_committed(directory: Path) -> dict[str, Schema]:
    """The committed schemas by contract name (file name without `.json`)."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def breaking_changes(committed: Mapping[str, Schema], generated: Mapping[str, Schema]
                     ) -> list[Breaking]:
    """Every breaking change from the committed set to the generated one; new contracts (new
    event types or new versions) have no baseline and always pass."""
    found: list[Breaking] = []
    for name, old in sorted(committed.items()):
        new = generated.get(name)
        if new is None:
            found.append(Breaking(name, "", "removed; keep every released version registered "
                                            "and add the new one beside it"))
            continue
        found.extend(compare(old, new, contract=name))
    return found


def compare(old: Schema, new: Schema, *, contract: str) -> list[Breaking]:
    """Breaking changes from one schema to its successor under the same type name."""
    diff = _Diff(contract, old_root=old, new_root=new)
    diff.node(old, new, "")
    return diff.found


@dataclass
class _Diff:
    contract: str
    old_root: Schema
    new_root: Schema
    found: list[Breaking] = field(default_factory=list)
    _open_refs: set[tuple[str, str]] = field(default_factory=set)

    def breaks(self, path: str, change: str) -> None:
        self.found.append(Breaking(self.contract, path, change))

    def node(self, old: Schema, new: Schema, path: str) -> None:
        refs = (old.get("$ref", ""), new.get("$ref", ""))
        if refs in self._open_refs:  # a recursive model: this pair is being compared already
            return
        if refs[0] or refs[1]:
            self._open_refs.add(refs)
        try:
            self._node(old, new, path)
        finally:
            self._open_refs.discard(refs)

    def _node(self, old: Schema, new: Schema, path: str) -> None:
        old_by_type = _by_type(_variants(old, self.old_root))
        new_by_type = _by_type(_variants(new, self.new_root))
        self._types(set(old_by_type), set(new_by_type), path)
        for kind in sorted(set(old_by_type) & set(new_by_type)):
            for old_v, new_v in _pairs(old_by_type[kind], new_by_type[kind]):
                self.variant(old_v, new_v, kind, path)

    def _types(self, old: set[str], new: set[str], path: str) -> None:
        if "null" in old and "null" not in new:
            self.breaks(path, "no longer accepts null")
        if "null" in new and "null" not in old:
            self.breaks(path, "may now be null, which consumers of the committed schema "
                              "do not expect")
        old_types, new_types = old - {"null"}, new - {"null"}
        if old_types != new_types and old_types and new_types:
            self.breaks(path, f"type changed from {_names(old_types)} to {_names(new_types)}")

    def variant(self, old: Schema, new: Schema, kind: str, path: str) -> None:
        self._values(old, new, path)
        self._bounds(old, new, path)
        if kind == "array":
            self._items(old, new, path)
        if kind == "object":
            self._object(old, new, path)

    def _values(self, old: Schema, new: Schema, path: str) -> None:
        old_values, new_values = _allowed_values(old), _allowed_values(new)
        if new_values is None:
            return
        if old_values is None:
            self.breaks(path, f"now restricted to {_listed(new_values)}")
            return
        removed = [v for v in old_values if v not in new_values]
        if removed:
            self.breaks(path, f"enum value(s) removed: {_listed(removed)}")

    def _bounds(self, old: Schema, new: Schema, path: str) -> None:
        for key in UPPER_BOUNDS:
            if key in new and (key not in old or new[key] < old[key]):
                self.breaks(path, f"{key} tightened from {old.get(key, 'none')} to {new[key]}")
        for key in LOWER_BOUNDS:
            if key in new and (key not in old or new[key] > old[key]):
                self.breaks(path, f"{key} tightened from {old.get(key, 'none')} to {new[key]}")
        for key in MUST_NOT_CHANGE:
            if key in new and new.get(key) != old.get(key):
                self.breaks(path, f"{key} changed from {old.get(key, 'none')!r} to {new[key]!r}")

    def _items(self, old: Schema, new: Schema, path: str) -> None:
        if "items" in old or "items" in new:
            self.node(old.get("items", {}), new.get("items", {}), f"{path}[]")
        for index, (old_item, new_item) in enumerate(zip(old.get("prefixItems", []),
                                                         new.get("prefixItems", []),
                                                         strict=False)):
            self.node(old_item, new_item, f"{path}[{index}]")

    def _object(self, old: Schema, new: Schema, path: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", ())), set(new.get("required", ()))
        added = sorted(set(new_props) - set(old_props))
        for name in sorted(set(old_props) - set(new_props)):
            hint = f" (renamed to {_listed(added)}?)" if added else ""
            self.breaks(_join(path, name), f"removed{hint}")
        for name in added:
            if name in new_req:
                self.breaks(_join(path, name), "new required field")
        for name in sorted(set(old_props) & set(new_props)):
            here = _join(path, name)
            if name in new_req and name not in old_req:
                self.breaks(here, "became required")
            if name in old_req and name not in new_req:
                self.breaks(here, "no longer required, so consumers may find it missing")
            self.node(old_props[name], new_props[name], here)
        self._extra(old, new, path)

    def _extra(self, old: Schema, new: Schema, path: str) -> None:
        old_extra, new_extra = old.get("additionalProperties", True), new.get(
            "additionalProperties", True)
        if new_extra is False and old_extra is not False:
            self.breaks(path, "extra policy tightened: unknown fields are now forbidden")
        elif isinstance(new_extra, dict):
            self.node(old_extra if isinstance(old_extra, dict) else {}, new_extra, f"{path}{{}}")
        if "propertyNames" in new and new["propertyNames"] != old.get("propertyNames"):
            self.node(old.get("propertyNames", {}), new["propertyNames"], f"{path}{{keys}}")


def _variants(schema: Schema, root: Schema) -> list[Schema]:
    schema = _resolved(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [v for option in schema[key] for v in _variants(option, root)]
    if len(schema.get("allOf", ())) == 1:
        return _variants({**schema.pop("allOf")[0], **schema}, root)
    if isinstance(schema.get("type"), list):
        return [{**schema, "type": kind} for kind in schema["type"]]
    return [schema]


def _resolved(schema: Schema, root: Schema) -> Schema:
    schema = dict(schema)
    while "$ref" in schema:
        target: Any = root
        for part in schema.pop("$ref").removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **schema}
    return schema


def _by_type(variants: list[Schema]) -> dict[str, list[Schema]]:
    grouped: dict[str, list[Schema]] = {}
    for variant in variants:
        grouped.setdefault(_type_of(variant), []).append(variant)
    return grouped


def _type_of(schema: Schema) -> str:
    if "type" in schema:
        return str(schema["type"])
    values = _allowed_values(schema)
    if values:
        return JSON_TYPES.get(type(values[0]), "any")
    return "object" if "properties" in schema else "any"


def _pairs(old: list[Schema], new: list[Schema]) -> Iterator[tuple[Schema, Schema]]:
    """Variants of one type, matched by title (unions of models), else by position."""
    titled = {v.get("title"): v for v in new}
    for index, variant in enumerate(old):
        match = titled.get(variant.get("title")) if len(new) > 1 else None
        yield variant, match or new[min(index, len(new) - 1)]


def _allowed_values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    return list(schema["enum"]) if "enum" in schema else None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _names(types: set[str]) -> str:
    return " or ".join(sorted(types))


def _listed(values: list[Any]) -> str:
    return ", ".join(repr(v) if not isinstance(v, str) else v for v in values)
