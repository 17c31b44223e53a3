"""YAML rule documents as plain values that remember their line numbers.

Errors must point at the line an author has to fix, so documents are composed into nodes
(which carry marks) and converted here, instead of being loaded straight into dicts.
Scalars follow the YAML 1.2 core schema, not PyYAML's 1.1 defaults: ``NO`` (Norway) stays a
string, ``1e9`` is a number, and dates stay text — the surprises rule authors trip over.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Final

import yaml

from custodes.detect.rules.error import RuleError

_NULL: Final = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE: Final = frozenset({"true", "True", "TRUE"})
_FALSE: Final = frozenset({"false", "False", "FALSE"})
_INT: Final = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_HEX: Final = re.compile(r"0x[0-9a-fA-F_]+$")
_FLOAT: Final = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL: Final = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}


class Located(dict[str, Any]):
    """A YAML mapping: its own line and the line of every key (1-based)."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    """A YAML sequence: its own line and the line of every item (1-based)."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def line_of(value: Any, default: int | None = None) -> int | None:
    """The line a converted value started on, when it is a mapping or a list."""
    return value.line if isinstance(value, Located | LocatedList) else default


def parse(text: str, file: str | Path | None = None) -> tuple[list[Any], list[RuleError]]:
    """Every document of a YAML stream, and the problems met while reading it.

    Malformed YAML stops the reading (nothing after the error can be trusted); duplicate
    keys do not, since the rest of the file is still well-formed.
    """
    problems: list[RuleError] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return [], [RuleError(f"invalid YAML: {reason}", file=file, line=line)]
    except yaml.YAMLError as exc:
        return [], [RuleError(f"invalid YAML: {exc}", file=file)]
    docs = [_convert(node, file, problems) for node in nodes if node is not None]
    return docs, problems


def _convert(node: yaml.Node, file: str | Path | None, problems: list[RuleError]) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = Located()
        out.line, out.key_lines = line, {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(RuleError("keys must be plain text", file=file, line=key_line))
                continue
            key = str(key_node.value)
            if key == "<<":
                problems.append(
                    RuleError("merge keys ('<<') are not supported", file=file, line=key_line)
                )
                continue
            if key in out:
                problems.append(
                    RuleError(
                        f"duplicate key '{key}' (first at line {out.key_lines[key]})",
                        file=file,
                        line=key_line,
                    )
                )
                continue
            out.key_lines[key] = key_line
            out[key] = _convert(value_node, file, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = LocatedList()
        items.line, items.item_lines = line, []
        for item in node.value:
            items.item_lines.append(item.start_mark.line + 1)
            items.append(_convert(item, file, problems))
        return items
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    text = str(node.value)
    if node.style is not None or not node.tag.startswith("tag:yaml.org,2002:"):
        return text  # quoted or block text, or a custom tag: always text
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _HEX.match(text):
        return int(text.replace("_", ""), 16)
    if _FLOAT.match(text) and any(ch.isdigit() for ch in text):
        return float(text.replace("_", ""))
    if text.lower() in _SPECIAL:
        return _SPECIAL[text.lower()]
    return text
