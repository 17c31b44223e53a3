"""Rule packs from files, folders and the built-in starter pack.

A file holds one rule, a list of rules, or a pack (``name``, ``description``, ``rules``),
in one or more YAML documents. ``check`` reads everything it is given and returns the
rules that are sound together with *every* problem found; ``load`` raises them all at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from custodes.detect.rules.document import Located, LocatedList, line_of, parse
from custodes.detect.rules.error import RuleError, RuleErrors
from custodes.detect.rules.model import Rule
from custodes.detect.rules.reading import Reading, read_rule

BUILTIN: Final = "starter"
PACK_KEYS: Final = ("name", "description", "rules")
SUFFIXES: Final = (".yaml", ".yml")


@dataclass
class Checked:
    """What reading some rule files produced: sound rules, and every problem."""

    rules: list[Rule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def raise_errors(self) -> None:
        if self.errors:
            raise RuleErrors(self.errors)


def builtin_text(name: str = BUILTIN) -> str:
    """A pack shipped inside the package (read with importlib.resources, so it works from
    a wheel or a zip as well as from a source tree)."""
    resource = resources.files("custodes.detect.rules").joinpath("packs", f"{name}.yaml")
    return resource.read_text(encoding="utf-8")


def builtin_label(name: str = BUILTIN) -> str:
    return f"<builtin:{name}>"


def expand(paths: Iterable[str | Path]) -> tuple[list[Path], list[RuleError]]:
    """Files named, and the .yaml/.yml files inside folders named (sorted, recursively)."""
    files: list[Path] = []
    errors: list[RuleError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            if not found:
                errors.append(RuleError("no .yaml or .yml rule files in this folder", file=path))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            errors.append(RuleError("no such file or folder", file=path))
    return files, errors


def check(paths: Iterable[str | Path] = (), *, builtin: bool = False) -> Checked:
    """Read rule files (and the built-in pack when asked), collecting every problem."""
    out = Checked()
    sources: list[tuple[str, str | None]] = []
    if builtin:
        sources.append((builtin_label(), builtin_text()))
    files, errors = expand(paths)
    out.errors.extend(errors)
    for path in files:
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            out.errors.append(RuleError(f"cannot read: {exc}", file=path))
    for label, text in sources:
        out.files.append(label)
        rules, problems = read_text(text or "", label)
        out.rules.extend(rules)
        out.errors.extend(problems)
    out.errors.extend(_duplicates(out.rules))
    dupes = _dupe_ids(out.rules)
    out.rules = [r for r in out.rules if r.id not in dupes]
    return out


def load(paths: Iterable[str | Path] = (), *, builtin: bool = False) -> list[Rule]:
    """Rules from files (and the built-in pack); raises :class:`RuleErrors` listing every
    problem when there is any."""
    checked = check(paths, builtin=builtin)
    checked.raise_errors()
    return checked.rules


def configured(extra: str | None, *, builtin: bool = True) -> list[Rule]:
    """The packs detection runs: the built-in pack, plus files and folders listed in
    ``extra`` (separated like PATH, i.e. ':' on Unix)."""
    return load(split_paths(extra), builtin=builtin)


def split_paths(extra: str | None) -> list[str]:
    """Files and folders from a PATH-like setting (``CUSTODES_RULES``)."""
    return [p.strip() for p in (extra or "").split(os.pathsep) if p.strip()]


def read_text(text: str, file: str | Path | None = None) -> tuple[list[Rule], list[RuleError]]:
    """Rules in one YAML text, and the problems in it (rules with problems are left out)."""
    docs, errors = parse(text, file)
    rules: list[Rule] = []
    for doc in docs:
        for item, line in _rule_items(doc, file, errors):
            reading = Reading(file)
            rule = read_rule(reading, item, line)
            errors.extend(reading.errors)
            if rule is not None:
                rules.append(rule)
    if not docs and not errors:
        errors.append(RuleError("the file holds no rules", file=file))
    return rules, sorted(errors, key=lambda e: e.line or 0)


def _rule_items(
    doc: Any, file: str | Path | None, errors: list[RuleError]
) -> list[tuple[Any, int | None]]:
    """The rule mappings of one document, with their lines."""
    if isinstance(doc, Mapping) and "rules" in doc:
        reading = Reading(file)
        for key in doc:
            if key not in PACK_KEYS:
                at = doc.line_of(key) if isinstance(doc, Located) else None
                reading.error(
                    f"unknown pack key '{key}'; expected one of: {', '.join(PACK_KEYS)}", at
                )
        errors.extend(reading.errors)
        items = doc["rules"]
        if not isinstance(items, list):
            at = doc.line_of("rules") if isinstance(doc, Located) else None
            errors.append(RuleError("'rules' must be a list of rules", file=file, line=at))
            return []
        return _listed(items)
    if isinstance(doc, list):
        return _listed(doc)
    if isinstance(doc, Mapping):
        return [(doc, line_of(doc))]
    errors.append(
        RuleError(
            "expected a rule, a list of rules, or a pack with 'rules:'",
            file=file,
            line=line_of(doc),
        )
    )
    return []


def _listed(items: list[Any]) -> list[tuple[Any, int | None]]:
    lines = items.item_lines if isinstance(items, LocatedList) else [None] * len(items)
    return [(item, line_of(item, lines[i])) for i, item in enumerate(items)]


def _dupe_ids(rules: list[Rule]) -> set[str]:
    seen: set[str] = set()
    dupes: set[str] = set()
    for rule in rules:
        (dupes if rule.id in seen else seen).add(rule.id)
    return dupes


def _duplicates(rules: list[Rule]) -> list[RuleError]:
    first: dict[str, Rule] = {}
    errors = []
    for rule in rules:
        if rule.id in first:
            errors.append(
                RuleError(
                    f"duplicate rule id (first defined at {first[rule.id].location})",
                    file=rule.file,
                    line=rule.line,
                    rule=rule.id,
                    field="id",
                )
            )
        else:
            first[rule.id] = rule
    return errors
