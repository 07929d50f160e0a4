"""Parsing untrusted YAML and JSON documents within limits.

PyYAML's safe loader still expands aliases: a 1.5 KB "billion laughs" file becomes
gigabytes once anything walks it. So YAML is first read as a stream of parser events
(iterative, no objects built) counting nesting depth and the number of nodes with every
alias expanded; only a document within the limits is built. JSON is parsed with the same
depth and size limits. Duplicate mapping keys are refused in both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from scheduler.domain.errors import InputError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it


@dataclass(frozen=True)
class DocumentLimits:
    """Limits on one document (a scenario, an event file, a rush order's JSON)."""

    max_bytes: int = 8 * 1024 * 1024
    max_depth: int = 64
    """Nesting of mappings and lists; a scenario needs 8."""
    max_nodes: int = 2_000_000
    """Values in the document with every YAML alias expanded."""


DEFAULT_LIMITS = DocumentLimits()


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader, refusing duplicate keys."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    """The safe loader's mapping, after refusing a key written twice."""
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key)
    yield from loader.construct_yaml_map(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


def parse_document(text: str, fmt: str, where: str, limits: DocumentLimits = DEFAULT_LIMITS) -> Any:
    """``text`` as data (``fmt`` ``json`` or ``yaml``); InputError at ``where`` otherwise."""
    check_size(len(text.encode("utf-8")) if len(text) * 4 > limits.max_bytes else len(text), where, limits)
    if fmt == "json":
        return _json(text, where, limits)
    _scan_yaml(text, where, limits)
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise InputError.single(where, f"invalid YAML{_mark(error)}: {_problem(error)}") from None


def check_size(size: int, where: str, limits: DocumentLimits = DEFAULT_LIMITS) -> None:
    if size > limits.max_bytes:
        raise InputError.single(where, f"is {size} bytes, over the {limits.max_bytes}-byte limit for a document")


def _scan_yaml(text: str, where: str, limits: DocumentLimits) -> None:
    """Depth and expanded size from the parser's events, before anything is built."""
    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = []  # (anchor, expanded nodes so far) per open collection
    total = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append((event.anchor, 1))
                total += 1
                if len(stack) > limits.max_depth:
                    raise InputError.single(where, f"nests deeper than {limits.max_depth} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, count = stack.pop()
                if anchor is not None:
                    sizes[anchor] = count
                if stack:
                    stack[-1] = (stack[-1][0], stack[-1][1] + count)
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                count = sizes.get(event.anchor or "", 1) if isinstance(event, yaml.AliasEvent) else 1
                if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                    sizes[event.anchor] = 1
                total += count
                if stack:
                    stack[-1] = (stack[-1][0], stack[-1][1] + count)
            if total > limits.max_nodes:
                raise InputError.single(
                    where, f"holds more than {limits.max_nodes} values once its aliases are expanded"
                )
    except yaml.YAMLError as error:
        raise InputError.single(where, f"invalid YAML{_mark(error)}: {_problem(error)}") from None


def _json(text: str, where: str, limits: DocumentLimits) -> Any:
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as error:
        raise InputError.single(
            where, f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise InputError.single(where, f"nests deeper than {limits.max_depth} levels") from None
    except _DuplicateKey as error:
        raise InputError.single(where, f"invalid JSON: duplicate key {error.key!r}") from None
    _check_depth(data, where, limits)
    return data


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _check_depth(data: Any, where: str, limits: DocumentLimits) -> None:
    """Depth and size of parsed JSON, without recursion."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    nodes = 0
    while pending:
        value, depth = pending.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise InputError.single(where, f"holds more than {limits.max_nodes} values")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        if children and depth > limits.max_depth:
            raise InputError.single(where, f"nests deeper than {limits.max_depth} levels")
        pending.extend((child, depth + 1) for child in children)


def _mark(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""


def _problem(error: yaml.YAMLError) -> str:
    return str(getattr(error, "problem", None) or str(error).splitlines()[0])
