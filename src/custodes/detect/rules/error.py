"""Rule-file errors that say where: file, line, rule and field, as a compiler would.

A rule author fixes a pack in one pass only if every problem is reported at once, so the
loader collects :class:`RuleError` s and raises them together as :class:`RuleErrors`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from custodes.errors import CustodesError


class RuleError(CustodesError):
    """One problem in a rule file, located as precisely as the YAML allows."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        rule: str | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.rule = rule
        self.field = field
        self.reason = message
        super().__init__(self.render())

    def render(self) -> str:
        """``rules/x.yaml:12: rule 'foo': field 'where': unknown feature 'bar'``."""
        where = self.file or "<rules>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.rule:
            parts.append(f"rule '{self.rule}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join([*parts, self.reason])

    def located(self, file: str | Path | None, rule: str | None = None) -> RuleError:
        """The same problem, with the file (and rule) filled in where still unknown."""
        return RuleError(
            self.reason,
            file=self.file or file,
            line=self.line,
            rule=self.rule or rule,
            field=self.field,
        )


class RuleErrors(CustodesError):
    """Every problem found in a set of rule files, in file and line order."""

    def __init__(self, errors: Iterable[RuleError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file or "", e.line or 0))
        if not self.errors:
            raise ValueError("RuleErrors needs at least one error")
        if len(self.errors) == 1:
            message = self.errors[0].render()
        else:
            lines = "\n".join(f"  {e.render()}" for e in self.errors)
            message = f"{len(self.errors)} problems in rule files:\n{lines}"
        super().__init__(message)
