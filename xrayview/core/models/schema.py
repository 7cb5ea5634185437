"""The JSON Schema of ``models/manifest.json`` and a small validator for it.

``MANIFEST_SCHEMA`` is a standard JSON Schema (draft 2020-12) document; the tests check
it with the reference ``jsonschema`` package and check that ``validate_manifest`` agrees
with it. At run time xrayview uses this module's validator instead of adding
``jsonschema`` (and its compiled ``rpds-py`` dependency) to the installer: it implements
the keywords the schema uses (type, const, enum, required, properties,
additionalProperties, propertyNames, pattern, items, minItems, minimum, maximum, $ref)
and phrases each failure as one plain line from the schema's ``description``s, e.g.
``models/manifest.json, model 'vdsr': sha256 must be 64 hexadecimal digits``.
"""

from __future__ import annotations

import re
from typing import Any

from xrayview.core.models.registry import architecture_names, kwargs_problem

SCHEMA_VERSION = 1
_ARCHS = list(architecture_names())
_RELATIVE_NAME = r"^(?![/\\])(?![A-Za-z]:)(?!(?:.*[/\\])?\.\.(?:[/\\]|$)).+$"

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "xrayview models/manifest.json",
    "type": "object",
    "required": ["schema", "models"],
    "properties": {
        "schema": {"const": SCHEMA_VERSION, "description": f"{SCHEMA_VERSION}"},
        "models": {"type": "object", "description": "an object of model entries",
                   "propertyNames": {"pattern": r"^[A-Za-z0-9_.+-]{1,64}$"},
                   "additionalProperties": {"$ref": "#/$defs/entry"}},
    },
    "$defs": {
        "entry": {
            "type": "object",
            "description": "an object",
            "required": ["arch", "file", "kwargs", "scales", "sha256"],
            "properties": {
                "arch": {"type": "string", "enum": _ARCHS,
                         "description": "one of " + ", ".join(_ARCHS)},
                "file": {"type": "string", "pattern": _RELATIVE_NAME,
                         "description": "a relative name inside the models folder"},
                "kwargs": {"type": "object", "description": "an object"},
                "scales": {"type": "array", "minItems": 1,
                           "items": {"type": "integer", "minimum": 1, "maximum": 8},
                           "description": "a non-empty list of integers 1..8"},
                "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                           "description": "64 hexadecimal digits"},
                "training": {"type": "object", "description": "an object"},
                "metrics": {"type": "object", "description": "an object"},
            },
        },
    },
}

_TYPES = {"object": dict, "array": list, "string": str, "number": (int, float)}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return type(value) is int or (type(value) is float and value.is_integer())
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    return isinstance(value, _TYPES[name])


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def iter_errors(value: Any, schema: dict = MANIFEST_SCHEMA, path: tuple = (),
                root: dict | None = None) -> list[tuple[tuple, str, dict, Any]]:
    """Every failure as (path, keyword, failing sub-schema, value); [] when valid."""
    root = root or schema
    schema = _resolve(schema, root)
    errors: list[tuple[tuple, str, dict, Any]] = []
    if "type" in schema and not _is_type(value, schema["type"]):
        return [(path, "type", schema, value)]  # nothing else makes sense on a wrong type
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        errors.append((path, "const", schema, value))
    if "enum" in schema and value not in schema["enum"]:
        errors.append((path, "enum", schema, value))
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append((path, "pattern", schema, value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            errors.append((path, "range", schema, value))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append((path, "minItems", schema, value))
        for i, item in enumerate(value):
            errors += iter_errors(item, schema.get("items", {}), path + (i,), root)
    if isinstance(value, dict):
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            errors.append((path, "required", schema, missing))
        props = schema.get("properties", {})
        for key, item in value.items():
            names = schema.get("propertyNames")
            if names and not re.search(names.get("pattern", ""), str(key)):
                errors.append((path + (key,), "propertyNames", names, key))
            if key in props:
                errors += iter_errors(item, props[key], path + (key,), root)
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += iter_errors(item, schema["additionalProperties"], path + (key,), root)
            elif schema.get("additionalProperties") is False:
                errors.append((path + (key,), "additionalProperties", schema, item))
    return errors


def describe(error: tuple[tuple, str, dict, Any], file: str = "models/manifest.json") -> str:
    """One plain line for an error from ``iter_errors``."""
    path, keyword, schema, value = error
    where = file + (f", model {path[1]!r}" if len(path) >= 2 and path[0] == "models" else "")
    key = path[2] if len(path) >= 3 else (path[-1] if path else "")
    if keyword == "required":
        return f"{where}: missing required key(s) {', '.join(value)}"
    if len(path) == 2 and path[0] == "models":
        if keyword == "propertyNames":
            return f"{file}: model name {str(value)[:40]!r} is not a plain name"
        return f"{where}: entry must be {schema.get('description', 'an object')}"
    if keyword == "enum" and key == "arch":
        return f"{where}: unknown arch {value!r} (known: {', '.join(schema['enum'])})"
    if path == ("schema",):
        return f'{file}: expected "schema": {SCHEMA_VERSION}'
    if path == ("models",):
        return f'{file}: "models" must be an object'
    if not path:
        return f"{file}: must be a JSON object"
    described = _resolve(schema, MANIFEST_SCHEMA).get("description")
    if len(path) > 3 or not described:  # e.g. scales[1]: use the parent's description
        parent = MANIFEST_SCHEMA["$defs"]["entry"]["properties"].get(key, {})
        described = parent.get("description", "valid")
    return f"{where}: {key} must be {described}"


def validate_manifest(data: Any) -> list[str]:
    """One message per problem with the manifest ``data`` (parsed JSON); [] when valid.

    Beyond the schema, each entry's kwargs must lie in its architecture's bounds
    (``registry.kwargs_problem``)."""
    problems = [describe(e) for e in iter_errors(data)]
    if problems:
        return problems
    for name, entry in data["models"].items():
        problem = kwargs_problem(entry["arch"], entry["kwargs"])
        if problem:
            problems.append(f"models/manifest.json, model {name!r}: {problem}")
    return problems
