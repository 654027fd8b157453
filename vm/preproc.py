# SPDX-License-Identifier: GPL-2.0-only
"""Which lines of a C file an #if compiles out on a given .config.

Only conditions on configuration symbols are evaluated: defined(CONFIG_X),
#ifdef CONFIG_X, IS_ENABLED(), IS_BUILTIN(), IS_MODULE(), IS_REACHABLE()
and a bare CONFIG_X, joined by !, && and || with parentheses.  A
condition on anything else (a header guard, an architecture macro) is
unknown, and its lines are never called compiled out.
"""

import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$")
_CALL = re.compile(r"\b(defined|IS_ENABLED|IS_BUILTIN|IS_MODULE|IS_REACHABLE)\s*"
                   r"(?:\(\s*(CONFIG_\w+)\s*\)|\s+(CONFIG_\w+))")
_BARE = re.compile(r"\bCONFIG_\w+")


@dataclass
class _Frame:
    line: int
    text: str  # what a compiled-out line is explained by
    current: bool | None  # this branch: on, off, or unknown
    seen_true: bool = False  # an earlier branch was on
    seen_unknown: bool = False


def evaluate(cond: str, config: dict[str, str]) -> bool | None:
    """cond (the text after #if or #elif) on config {NAME: y|m|value}."""
    cond = re.sub(r"/\*.*?\*/|//.*$", "", cond).strip()

    def call(m: re.Match) -> str:
        fn, sym = m.group(1), (m.group(2) or m.group(3))[len("CONFIG_"):]
        val = config.get(sym, "n")
        on = {"defined": val == "y" or (val not in ("n", "m")),
              "IS_ENABLED": val in ("y", "m"), "IS_REACHABLE": val in ("y", "m"),
              "IS_BUILTIN": val == "y", "IS_MODULE": val == "m"}[fn]
        if fn == "defined" and val == "m":  # kconfig defines CONFIG_X_MODULE instead
            on = False
        return " True " if on else " False "

    expr = _CALL.sub(call, cond)
    expr = _BARE.sub(lambda m: " True " if config.get(m.group(0)[7:], "n") == "y"
                     else " False ", expr)
    expr = expr.replace("&&", " and ").replace("||", " or ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    if re.search(r"[A-Za-z_]\w*", re.sub(r"\b(True|False|and|or|not)\b", "", expr)):
        return None  # a macro that is not a config symbol
    try:
        return bool(eval(expr, {"__builtins__": {}}))  # noqa: S307 (only True/False/and/or/not)
    except (SyntaxError, TypeError, ValueError):
        return None


def inactive(lines: list[str], config: dict[str, str]) -> dict[int, str]:
    """{line number (1-based): 'line N: #if ...'} for every line inside a
    branch that is off on config (the innermost such directive)."""
    out: dict[int, str] = {}
    stack: list[_Frame] = []
    i = 0
    while i < len(lines):
        start = i
        text = lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i]
        m = _DIRECTIVE.match(text)
        if m:
            kind, rest = m.group(1), m.group(2).strip()
            shown = f"line {start + 1}: #{kind} {rest}".rstrip()
            if kind in ("if", "ifdef", "ifndef"):
                if kind == "if":
                    val = evaluate(rest, config)
                else:
                    sym = rest.split()[0] if rest else ""
                    val = evaluate(f"defined({sym})", config) if sym.startswith("CONFIG_") \
                        else None
                    if kind == "ifndef" and val is not None:
                        val = not val
                stack.append(_Frame(start + 1, shown, val))
            elif stack and kind in ("elif", "else"):
                f = stack[-1]
                f.seen_true |= f.current is True
                f.seen_unknown |= f.current is None
                if f.seen_true:
                    val = False
                elif kind == "elif":
                    val = evaluate(rest, config)
                else:
                    val = None if f.seen_unknown else True
                opener = f.text.split(" of ")[-1]
                stack[-1] = _Frame(start + 1, f"{shown} of {opener}", val, f.seen_true,
                                   f.seen_unknown)
            elif stack and kind == "endif":
                stack.pop()
        else:
            off = next((f for f in reversed(stack) if f.current is False), None)
            if off is not None:
                for n in range(start, i + 1):
                    out[n + 1] = off.text
        i += 1
    return out
