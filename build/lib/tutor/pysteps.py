"""Python steps: run a small, safe set of operations on an actor's own process memory.

Seed 000's "bad" pattern keeps messages in a list inside each Flask worker. To show honestly that
worker 2 cannot see worker 1's list, the engine really runs `messages.append('hi')` on worker 1's
list. Only operations that cannot reach anything else are accepted: the expression is parsed,
checked against an allowlist, and interpreted here, never passed to eval().
"""

from __future__ import annotations

import ast
import copy
from collections import deque
from typing import Any

from tutor import messages

METHODS = {"append", "appendleft", "pop", "popleft", "clear", "get"}
MAX_ITEMS = 10_000


class PythonStepError(ValueError):
    """An operation outside the allowed set, or a name the process does not have."""


def initial_value(raw: Any) -> Any:
    """Turn a YAML initial value (list, dict or 'deque([...])') into the live object."""
    if isinstance(raw, list | dict):
        return copy.deepcopy(raw)
    if isinstance(raw, str) and raw.startswith("deque(") and raw.endswith(")"):
        inner = raw[len("deque(") : -1].strip() or "[]"
        try:
            items = ast.literal_eval(inner)
        except (ValueError, SyntaxError):
            raise PythonStepError(messages.PY_BAD_INITIAL.format(actual=raw)) from None
        if isinstance(items, list):
            return deque(items)
    raise PythonStepError(messages.PY_BAD_INITIAL.format(actual=raw))


def compile_step(source: str, names: set[str]) -> ast.stmt:
    """Parse and check one operation; raise PythonStepError naming what is not allowed."""
    try:
        module = ast.parse(source.strip(), mode="exec")
    except SyntaxError as error:
        raise PythonStepError(messages.PY_SYNTAX.format(problem=error.msg)) from None
    if len(module.body) != 1:
        raise PythonStepError(messages.PY_NOT_ALLOWED.format(what="more than one statement"))
    statement = module.body[0]
    if isinstance(statement, ast.Expr):
        _check(statement.value, names)
    elif (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Subscript)
    ):
        _check(statement.targets[0], names)
        _check_literal(statement.value)
    else:
        raise PythonStepError(messages.PY_NOT_ALLOWED.format(what=type(statement).__name__))
    return statement


def _check(node: ast.expr, names: set[str]) -> None:
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            _check(item, names)
        return
    if isinstance(node, ast.Dict):
        for part in [*node.keys, *node.values]:
            if part is not None:
                _check(part, names)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check(node.operand, names)
        return
    if isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "nothing"
            raise PythonStepError(messages.PY_UNKNOWN_NAME.format(name=node.id, known=known))
        return
    if isinstance(node, ast.Subscript):
        _check(node.value, names)
        _check(node.slice, names)
        return
    if isinstance(node, ast.Call) and not node.keywords:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "len" and len(node.args) == 1:
            _check(node.args[0], names)
            return
        if isinstance(func, ast.Attribute) and func.attr in METHODS:
            _check(func.value, names)
            for arg in node.args:
                _check_literal(arg)
            return
        what = ast.unparse(func)
        raise PythonStepError(messages.PY_NOT_ALLOWED.format(what=f"a call to {what}()"))
    raise PythonStepError(messages.PY_NOT_ALLOWED.format(what=ast.unparse(node)))


def _check_literal(node: ast.expr) -> None:
    """Arguments and assigned values are literals, so a container never ends up inside itself."""
    for child in ast.walk(node):
        if not isinstance(child, ast.Constant | ast.List | ast.Tuple | ast.Dict | ast.UnaryOp | ast.USub | ast.Load):
            raise PythonStepError(
                messages.PY_NOT_ALLOWED.format(what=f"{ast.unparse(child)} as a value (use a literal)")
            )


def run_step(statement: ast.stmt, memory: dict[str, Any]) -> Any:
    """Run a checked operation on the process memory; exceptions are the learner's to see."""
    if isinstance(statement, ast.Assign):
        target = statement.targets[0]
        assert isinstance(target, ast.Subscript)
        container = _eval(target.value, memory)
        container[_eval(target.slice, memory)] = _eval(statement.value, memory)
        _check_size(memory)
        return None
    assert isinstance(statement, ast.Expr)
    result = _eval(statement.value, memory)
    _check_size(memory)
    return result


def _check_size(memory: dict[str, Any]) -> None:
    for value in memory.values():
        if len(value) > MAX_ITEMS:
            raise PythonStepError(
                messages.TOO_MANY.format(what="items in a process value", limit=MAX_ITEMS, count=len(value))
            )


def _eval(node: ast.expr, memory: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return memory[node.id]
    if isinstance(node, ast.Call):
        args = [_eval(a, memory) for a in node.args]
        if isinstance(node.func, ast.Name):
            return len(args[0])
        assert isinstance(node.func, ast.Attribute)
        target = _eval(node.func.value, memory)
        return getattr(target, node.func.attr)(*args)
    if isinstance(node, ast.Subscript):
        return _eval(node.value, memory)[_eval(node.slice, memory)]
    if isinstance(node, ast.List):
        return [_eval(item, memory) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_eval(item, memory) for item in node.elts)
    if isinstance(node, ast.Dict):
        return {
            _eval(k, memory): _eval(v, memory) for k, v in zip(node.keys, node.values, strict=True) if k is not None
        }
    if isinstance(node, ast.UnaryOp):
        return -_eval(node.operand, memory)
    assert isinstance(node, ast.Constant)
    return node.value


def describe_error(error: Exception) -> str:
    """An exception as Python prints its last line: 'IndexError: pop from empty list'."""
    return f"{type(error).__name__}: {error}"
