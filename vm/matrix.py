# SPDX-License-Identifier: GPL-2.0-only
"""Baseline-versus-patched results and the expectations they must meet.

A test marked @pytest.mark.patch(NAME) guards patch NAME: it must fail on
the baseline kernel and pass with the series (a baseline-only run just
checks that it fails).  Every other test must pass
(or skip with a reason) on both.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import Exit, MipError


@dataclass(frozen=True)
class Row:
    test: str
    patches: tuple[str, ...]
    outcomes: dict  # variant -> passed/failed/skipped/error/missing
    ok: bool
    why: str


def load(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MipError(f"{path} missing: the verifier did not finish in the guest",
                       Exit.TEST_FAILURE) from None
    except ValueError as e:
        raise MipError(f"{path} is not valid JSON: {e}", Exit.TEST_FAILURE) from None


def judge(results: dict[str, dict[str, dict]], patch_names: list[str]) -> list[Row]:
    """results: variant ("baseline", "patched") -> results.json contents."""
    variants = list(results)
    tests = sorted({t for r in results.values() for t in r})
    rows = []
    for test in tests:
        outcomes = {v: results[v].get(test, {}).get("outcome", "missing") for v in variants}
        patches = tuple(next((results[v][test]["patches"] for v in variants
                              if test in results[v]), []))
        unknown = [p for p in patches if p not in patch_names]
        if unknown and "patched" in results:
            ok, why = False, f"marker names no patch of the series: {', '.join(unknown)}"
        elif patches and "patched" in results:
            ok = outcomes.get("baseline") == "failed" and outcomes.get("patched") == "passed"
            why = "" if ok else "must fail on baseline and pass with the series"
        elif patches:
            ok = outcomes.get("baseline") == "failed"
            why = "" if ok else "guards a patch, so must fail without the series"
        else:
            ok = all(o in ("passed", "skipped") for o in outcomes.values())
            why = "" if ok else "must pass on every kernel"
        rows.append(Row(test, patches, outcomes, ok, why))
    return rows


def render(rows: list[Row]) -> str:
    if not rows:
        return "no tests ran\n"
    variants = list(rows[0].outcomes)
    width = max(len(r.test) for r in rows)
    head = f"{'test':<{width}}  " + "  ".join(f"{v:<8}" for v in variants) + "  verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = "  ".join(f"{r.outcomes[v]:<8}" for v in variants)
        tie = f" (guards {', '.join(r.patches)})" if r.patches else ""
        verdict = "ok" if r.ok else f"UNEXPECTED: {r.why}"
        lines.append(f"{r.test:<{width}}  {cells}  {verdict}{tie}")
    bad = sum(not r.ok for r in rows)
    lines.append(f"{len(rows) - bad} passed, {bad} failed")
    return "\n".join(lines) + "\n"
