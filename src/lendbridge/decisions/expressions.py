"""Policy expressions in rule-engine's language: parsed (never ``eval``), checked against the
declared fact symbols and their types, compiled once and cached.

rule-engine refuses unknown symbols and most type errors itself when it parses against a
typed context. Two things it lets through are refused here as well: an equality comparison
across types (``age == "x"`` is always false, so it is a mistake) and an expression that is
not a condition (``age + 1``).

Speed: rule-engine spends about 5 µs resolving each symbol, which would make the rules most
of a decision's cost. A condition is a pure function of the few symbols it names, so each
compiled condition remembers its answers per tuple of those symbols' values (bounded): in a
batch, ages, counts and flags repeat.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import rule_engine  # type: ignore[import-untyped]
from rule_engine import ast

from lendbridge.decisions.facts import SYMBOLS

MAX_LENGTH = 1000
_CONTEXT = rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(SYMBOLS))
MAX_REMEMBERED = 4096


class ExpressionError(ValueError):
    """Why an expression cannot be used, in words for the policy's author."""


def _children(node: Any) -> Iterator[Any]:
    """The sub-expressions of an AST node (kept in ``__slots__`` or ``__dict__``)."""
    names = set(vars(node)) if hasattr(node, "__dict__") else set()
    for cls in type(node).__mro__:
        slots = getattr(cls, "__slots__", ())
        names.update([slots] if isinstance(slots, str) else slots)
    for name in sorted(names):
        value = getattr(node, name, None)
        if isinstance(value, ast.ExpressionBase):
            yield value
        elif isinstance(value, tuple | list):
            yield from (v for v in value if isinstance(v, ast.ExpressionBase))


def _check(node: Any, symbols: set[str]) -> None:
    """Refuses cross-type comparisons; collects the fact symbols the expression names."""
    if isinstance(node, ast.SymbolExpression) and node.name in SYMBOLS:
        symbols.add(node.name)
    if isinstance(node, ast.ComparisonExpression):
        left, right = node.left.result_type, node.right.result_type
        if not rule_engine.DataType.is_compatible(left, right):
            raise ExpressionError(f"compares a {left.name} with a {right.name}")
    for child in _children(node):
        _check(child, symbols)


class Condition:
    """A compiled condition and the symbols it reads; remembers its answers."""

    __slots__ = ("_answers", "_rule", "symbols", "text")

    def __init__(self, text: str, rule: Any, symbols: tuple[str, ...]) -> None:
        self.text = text
        self._rule = rule
        self.symbols = symbols
        self._answers: dict[tuple[Any, ...], bool] = {}

    def holds(self, values: dict[str, Any]) -> bool:
        """Whether the condition holds for these symbol values (``ExpressionError`` when it
        cannot be evaluated for them)."""
        key = tuple([values[name] for name in self.symbols])
        answer = self._answers.get(key)
        if answer is None:
            try:
                answer = bool(self._rule.matches(values))
            except rule_engine.EngineError as exc:  # e.g. a division by zero
                raise ExpressionError(f"could not be evaluated: {exc.message}") from None
            if len(self._answers) >= MAX_REMEMBERED:
                self._answers.clear()
            self._answers[key] = answer
        return answer


@functools.lru_cache(maxsize=4096)
def compile_expression(text: str) -> Condition:
    """The compiled condition for ``text``; raises ``ExpressionError`` saying what is wrong."""
    if not text.strip():
        raise ExpressionError("must not be empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"must be at most {MAX_LENGTH} characters")
    try:
        rule = rule_engine.Rule(text, context=_CONTEXT)
    except rule_engine.SymbolResolutionError as exc:
        known = ", ".join(sorted(SYMBOLS))
        raise ExpressionError(f"unknown fact {exc.symbol_name!r} (known: {known})") from None
    except rule_engine.RuleSyntaxError as exc:
        token = getattr(exc.token, "value", None)
        where = f" near {token!r}" if token is not None else " (incomplete expression?)"
        raise ExpressionError(f"syntax error{where}") from None
    except rule_engine.EngineError as exc:
        raise ExpressionError(f"not a valid expression: {exc.message}") from None
    except (RecursionError, ValueError, TypeError):
        raise ExpressionError("not a valid expression (too deeply nested?)") from None
    expression = rule.statement.expression
    symbols: set[str] = set()
    _check(expression, symbols)
    if expression.result_type not in (rule_engine.DataType.BOOLEAN, rule_engine.DataType.UNDEFINED):
        raise ExpressionError(
            f"must be a condition (true or false), not a {expression.result_type.name}"
        )
    return Condition(text, rule, tuple(sorted(symbols)))
