"""Recompute a Chart.lock digest exactly as helm does (internal/resolver.HashReq)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# chart.Dependency's JSON fields in declaration order; all but name and repository are `omitempty`.
_FIELDS = ("name", "version", "repository", "condition", "tags", "enabled", "import-values", "alias")
_ALWAYS = {"name", "repository"}


def _sort_maps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sort_maps(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sort_maps(v) for v in value]
    return value


def _go_dependency(dep: dict[str, Any]) -> dict[str, Any]:
    """Return the fields encoding/json would emit for one *chart.Dependency, in Go's order."""
    out: dict[str, Any] = {}
    for field in _FIELDS:
        value = dep.get(field)
        if field in _ALWAYS:
            out[field] = "" if value is None else value
        elif value not in (None, "", [], False, {}):
            out[field] = _sort_maps(value)
    return out


def _go_json(value: Any) -> bytes:
    """Encode like Go's json.Marshal: compact, map keys sorted, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def helm_lock_digest(requested: list[dict[str, Any]], locked: list[dict[str, Any]]) -> str:
    """Return "sha256:<hex>" of json.Marshal([2][]*chart.Dependency{requested, locked})."""
    payload = [[_go_dependency(d) for d in requested], [_go_dependency(d) for d in locked]]
    return "sha256:" + hashlib.sha256(_go_json(payload)).hexdigest()
