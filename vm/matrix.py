# SPDX-License-Identifier: GPL-2.0-only
"""Baseline-versus-patched results and the expectations they must meet.

A test marked @pytest.mark.patch(NAME) guards patch NAME on every base
whose series carries NAME: there it must fail on the baseline kernel and
pass with the series (a baseline-only run just checks that it fails, a
patched-only run that it passes).  On a
base whose series does not carry NAME (the regression it fixes is not
there), and for every unmarked test, it must pass (or skip with a reason)
on every kernel.  An unmarked test may also xfail on every kernel: that
documents a known limitation, and its strict xfail mark turns a later fix
into a failure (XPASS) until the mark is removed.
"""

from dataclasses import dataclass
from pathlib import Path

from mip6kit.verifier.contract import Outcome, TestResult, load_results

from .errors import Exit, MipError

Results = dict[str, TestResult]  # one guest's results.json


@dataclass(frozen=True)
class Row:
    test: str
    patches: tuple[str, ...]  # the patches of this series it guards
    outcomes: dict[str, Outcome]  # variant -> outcome
    ok: bool
    why: str
    markers: tuple[str, ...] = ()  # every patch its markers name, on any base
    judged: bool = True  # False: --no-series, a marked test is reported only


def load(path: Path) -> Results:
    try:
        return load_results(path.read_text())
    except FileNotFoundError:
        raise MipError(f"{path} missing: the verifier did not finish in the guest",
                       Exit.TEST_FAILURE) from None
    except ValueError as e:
        raise MipError(f"{path} is not a results file: {e}", Exit.TEST_FAILURE) from None


def judge(results: dict[str, Results], series: list[str],
          elsewhere: frozenset[str] = frozenset(), judged: bool = True) -> list[Row]:
    """results: variant ("baseline", "patched") -> its results.json.

    series: the patch names of this tree's series.  elsewhere: the names of
    patches that only other bases carry.  A test guards the patches of its
    markers that this series carries; a marker naming only patches of other
    bases (a regression fix that this base does not need) makes no claim
    here, so the test must pass on every kernel of this base like any
    other.  A marker naming a patch of no series at all is an error.

    judged=False (--no-series: the kernel as it is, with no series applied
    by mip6kit, e.g. a tree that already carries it) makes no claim for a
    marked test: its outcome is reported; an unmarked test must still pass.
    """
    variants = list(results)
    tests = sorted({t for r in results.values() for t in r})
    rows = []
    for test in tests:
        outcomes = {v: r.outcome if (r := results[v].get(test)) else Outcome.MISSING
                    for v in variants}
        markers = tuple(next((results[v][test].patches for v in variants
                              if test in results[v]), []))
        guards = tuple(p for p in markers if p in series)
        unknown = [p for p in markers if p not in series and p not in elsewhere]
        if unknown:
            ok, why = False, f"marker names no patch of any series: {', '.join(unknown)}"
        elif Outcome.UNFINISHED in outcomes.values():
            ok, why = False, "did not finish: the guest died or timed out during the run"
        elif markers and not judged:
            ok, why = True, ""
        elif guards and "patched" in results and "baseline" in results:
            ok = outcomes.get("baseline") == Outcome.FAILED \
                and outcomes.get("patched") == Outcome.PASSED
            why = "" if ok else "must fail on baseline and pass with the series"
        elif guards and "baseline" in results:
            ok = outcomes.get("baseline") == Outcome.FAILED
            why = "" if ok else "guards a patch, so must fail without the series"
        elif guards:  # --patched-only
            ok = outcomes.get("patched") == Outcome.PASSED
            why = "" if ok else "guards a patch, so must pass with the series"
        else:
            ok = all(o in (Outcome.PASSED, Outcome.SKIPPED) for o in outcomes.values()) or (
                not markers and all(o == Outcome.XFAILED for o in outcomes.values()))
            why = "" if ok else "must pass on every kernel" + (
                " (its patch is for another base)" if markers else "")
        rows.append(Row(test, guards, outcomes, ok, why, markers, judged))
    return rows


def unfinished(rows: list[Row]) -> list[str]:
    return [r.test for r in rows if Outcome.UNFINISHED in r.outcomes.values()]


def render(rows: list[Row]) -> str:
    if not rows:
        return "no tests ran\n"
    variants = list(rows[0].outcomes)
    width = max(len(r.test) for r in rows)
    cell = max(8, *(len(o) for r in rows for o in r.outcomes.values()))
    head = f"{'test':<{width}}  " + "  ".join(f"{v:<{cell}}" for v in variants) + "  verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = "  ".join(f"{r.outcomes[v]:<{cell}}" for v in variants)
        tie = f" (guards {', '.join(r.patches)})" if r.patches else (
            " (guards a patch of another base only)" if r.markers and r.judged else
            " (guards a patch; reported only: no series)" if r.markers else "")
        verdict = "ok" if r.ok else f"UNEXPECTED: {r.why}"
        lines.append(f"{r.test:<{width}}  {cells}  {verdict}{tie}")
    bad = sum(not r.ok for r in rows)
    lines.append(f"{len(rows) - bad} passed, {bad} failed"
                 + (f", {len(unfinished(rows))} unfinished" if unfinished(rows) else ""))
    return "\n".join(lines) + "\n"
