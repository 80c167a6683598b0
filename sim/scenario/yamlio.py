"""YAML reading that remembers where each value came from.

``load_yaml`` returns the plain data and a map from key paths (tuples of keys
and list indices) to 1-based line numbers, so validation errors can name the
line of the offending field.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError

Lines = dict[tuple[Any, ...], int]

#: libyaml's parser where PyYAML was built with it (its wheels are), else the pure-Python one:
#: the same nodes and line marks, about eight times faster.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NodeError(Exception):
    """A value in the YAML tree that cannot be used, with its line."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def _walk(node: yaml.Node, path: tuple[Any, ...], lines: Lines, depth: int = 0) -> Any:
    if depth > 50:
        raise _NodeError(node.start_mark.line + 1, "nesting too deep (a self-referencing alias?)")
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _NodeError(key_node.start_mark.line + 1, "a mapping key must be a plain name, not a list or mapping")
            key = _construct(key_node)
            if key in out:
                raise _NodeError(key_node.start_mark.line + 1, f"duplicate key '{key}' (first on line {lines[path + (key,)]}); a YAML mapping "
                                 "keeps only one of them, so say which you mean")
            out[key] = _walk(value_node, path + (key,), lines, depth + 1)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, path + (i,), lines, depth + 1) for i, child in enumerate(node.value)]
    return _construct(node)


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise _NodeError(node.start_mark.line + 1, f"invalid value {node.value!r} ({exc})") from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> tuple[Any, Lines]:
    """Read a YAML file, returning its data and the line of every key path.

    Raises:
        ScenarioError: if the file is missing or is not valid YAML.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, f"cannot read file ({exc})") from None
    data, lines = _parsed(str(path), text)
    return copy.deepcopy(data), dict(lines)


@functools.lru_cache(maxsize=32)
def _parsed(path_text: str, text: str) -> tuple[Any, Lines]:
    """The data and lines of ``text`` (cached by content: the dashboard and sweeps load the same
    scenario again and again; callers get copies)."""
    path = Path(path_text)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except RecursionError:
        raise ScenarioError(path, "YAML nesting too deep") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(path, f"YAML syntax error: {problem}", line=line) from None
    if node is None:
        return {}, {(): 1}
    lines: Lines = {}
    try:
        data = _walk(node, (), lines)
    except _NodeError as exc:
        raise ScenarioError(path, str(exc), line=exc.line) from None
    except RecursionError:
        raise ScenarioError(path, "YAML nesting too deep (a self-referencing alias?)") from None
    return data, lines


def line_of(lines: Lines, loc: tuple[Any, ...]) -> int | None:
    """The line of the longest prefix of ``loc`` that the file defines."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None
