"""Declarative detection rules: YAML packs over features or events, validated on load.

``load``/``check`` read packs (``check`` collects every problem with file and line),
``compile_rule`` turns a rule into one parameterised query, ``run_rules`` finds its hits.
The `rules` detector runs the built-in starter pack plus any configured packs.
"""

from custodes.detect.rules.compiler import Query, compile_rule
from custodes.detect.rules.error import RuleError, RuleErrors
from custodes.detect.rules.loader import Checked, builtin_text, check, configured, load, read_text
from custodes.detect.rules.model import (
    Comparison,
    Filter,
    Group,
    Rule,
    Scope,
    Threshold,
    Window,
)
from custodes.detect.rules.runner import Hit, features_built, run_rule, run_rules, score

__all__ = [
    "Checked",
    "Comparison",
    "Filter",
    "Group",
    "Hit",
    "Query",
    "Rule",
    "RuleError",
    "RuleErrors",
    "Scope",
    "Threshold",
    "Window",
    "builtin_text",
    "check",
    "compile_rule",
    "configured",
    "features_built",
    "load",
    "read_text",
    "run_rule",
    "run_rules",
    "score",
]
