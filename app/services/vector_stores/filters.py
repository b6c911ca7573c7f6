"""OpenAI attribute filters (comparison and nested and/or) evaluated on a file's attributes."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

AttributeValue = str | bool | int | float
Attributes = Mapping[str, AttributeValue]


@dataclass(frozen=True)
class Comparison:
    """Compare one file attribute with a value (a list of values for in/nin)."""

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str
    value: AttributeValue | Sequence[AttributeValue]


@dataclass(frozen=True)
class Compound:
    """All (`and`) or any (`or`) of the rules."""

    type: Literal["and", "or"]
    filters: Sequence[Rule]


Rule = Comparison | Compound

_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def matches(rule: Rule, attributes: Attributes) -> bool:
    if isinstance(rule, Compound):
        results = (matches(inner, attributes) for inner in rule.filters)
        return all(results) if rule.type == "and" else any(results)
    return _compare(rule, attributes)


def _kind(value: object) -> str:
    """Booleans, numbers and strings never equal one another (True is not 1 here)."""
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else "str"


def _equal(a: object, b: object) -> bool:
    return _kind(a) == _kind(b) and a == b


def _compare(rule: Comparison, attributes: Attributes) -> bool:
    """A missing attribute matches only `ne` and `nin`: it equals nothing."""
    present = rule.key in attributes
    actual = attributes.get(rule.key)
    value = rule.value
    if rule.type in ("in", "nin"):
        values = value if isinstance(value, list | tuple) else [value]
        found = present and any(_equal(actual, v) for v in values)
        return found if rule.type == "in" else not found
    if rule.type == "eq":
        return present and _equal(actual, value)
    if rule.type == "ne":
        return not (present and _equal(actual, value))
    # Ordered comparisons: numbers with numbers, strings with strings (ISO dates sort so).
    if not present or _kind(actual) != _kind(value) or _kind(value) == "bool":
        return False
    return _ORDERED[rule.type](actual, value)
