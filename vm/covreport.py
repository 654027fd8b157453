# SPDX-License-Identifier: GPL-2.0-only
"""The coverage report: a table per patch on stdout, coverage.json, an
lcov tracefile and genhtml's HTML, and the comparison with an earlier
report (a line executed then must be executed now)."""

import json
import logging
import shutil
from collections import Counter
from pathlib import Path

from .coverage import COMPILED_OUT, EXECUTED, MISSED, NO_CODE, NOT_BUILT, Line
from .errors import MipError
from .proc import Runner

log = logging.getLogger(__name__)


def summary(lines: list[Line], patches: list[str]) -> list[dict]:
    """Per patch (in series order): the counts and the lines not executed."""
    out = []
    for patch in patches:
        mine = [ln for ln in lines if ln.patch == patch]
        if not mine:
            continue
        n = Counter(ln.status for ln in mine)
        out.append({
            "patch": patch, "added": len(mine), "code": n[EXECUTED] + n[MISSED],
            "executed": n[EXECUTED], "no_code": n[NO_CODE],
            "missed": [_where(ln) for ln in mine if ln.status == MISSED],
            "compiled_out": [_where(ln) for ln in mine if ln.status == COMPILED_OUT],
            "not_built": [_where(ln) for ln in mine if ln.status == NOT_BUILT],
        })
    return out


def _where(ln: Line) -> dict:
    d = {"file": ln.path, "line": ln.number, "text": ln.text}
    if ln.reason:
        d["reason"] = ln.reason
    return d


def render(rows: list[dict], title: str) -> str:
    w = max([len("total")] + [len(r["patch"]) for r in rows])
    out = [title, "",
           f"{'patch':<{w}} {'added':>5} {'code':>5} {'run':>5} {'missed':>6} "
           f"{'#if-off':>7} {'unbuilt':>7}"]
    for r in rows:
        out.append(f"{r['patch']:<{w}} {r['added']:>5} {r['code']:>5} {r['executed']:>5} "
                   f"{len(r['missed']):>6} {len(r['compiled_out']):>7} "
                   f"{len(r['not_built']):>7}")
    code = sum(r["code"] for r in rows)
    run = sum(r["executed"] for r in rows)
    out.append(f"{'total':<{w}} {sum(r['added'] for r in rows):>5} {code:>5} {run:>5} "
               f"{code - run:>6}")
    out.append(f"\nexecuted {run} of {code} lines with code "
               f"({100.0 * run / code if code else 100.0:.1f}%); 'added' counts every line "
               "a patch wrote, 'code' those gcov has a count for")
    for key, what in (("missed", "not executed"),
                      ("compiled_out", "compiled out on this configuration (not counted)"),
                      ("not_built", "in an object this profile does not build (not counted)")):
        listed = [(r["patch"], w) for r in rows for w in r[key]]
        if not listed:
            continue
        out.append(f"\n{what}:")
        last = None
        for patch, w in listed:
            if patch != last:
                out.append(f"  {patch}")
                last = patch
            why = f"   [{w['reason']}]" if "reason" in w and key != "not_built" else ""
            out.append(f"    {w['file']}:{w['line']}: {w['text']}{why}")
        if key == "not_built":
            for reason in sorted({w["reason"] for _, w in listed}):
                out.append(f"    why: {reason}")
    return "\n".join(out) + "\n"


def write_lcov(lines: list[Line], counts: dict[str, dict[int, int]], src: Path,
               dest: Path) -> None:
    """An lcov tracefile of the files the series touches (every line gcov
    counted, not only the series'), for genhtml."""
    out = []
    for path in sorted({ln.path for ln in lines}):
        per = counts.get(path)
        if not per:
            continue
        out.append("TN:\n" + f"SF:{src / path}\n")
        out += [f"DA:{n},{c}\n" for n, c in sorted(per.items())]
        out.append(f"LH:{sum(1 for c in per.values() if c)}\nLF:{len(per)}\nend_of_record\n")
    dest.write_text("".join(out))


def html(tracefile: Path, dest: Path, title: str, runner: Runner) -> Path | None:
    """genhtml's report in dest; None (with a warning) without lcov."""
    if not shutil.which("genhtml"):
        log.warning("genhtml not found: no HTML report (install Debian's lcov package, "
                    "or run scripts/setup.sh)")
        return None
    res = runner.run(["genhtml", "--quiet", "--title", title, "--output-directory",
                      str(dest), str(tracefile)], capture=True, check=False)
    if res.returncode != 0:
        log.warning("genhtml failed (%s): no HTML report", res.stderr.strip()[-300:])
        return None
    return dest / "index.html"


def _keys(rows_or_lines, executed_only: bool) -> set[tuple]:
    """(patch, file, text, n-th line of that text) for the lines executed:
    stable across edits that only move lines."""
    seen: Counter = Counter()
    out = set()
    for patch, path, text, ran in rows_or_lines:
        k = (patch, path, text)
        seen[k] += 1
        if ran or not executed_only:
            out.add((*k, seen[k]))
    return out


def regressions(lines: list[Line], earlier: Path) -> list[str]:
    """Lines executed in the earlier report (coverage.json) and not now;
    lines that are gone from the series are not counted."""
    try:
        data = json.loads(earlier.read_text())
        old = [(p, w["file"], w["text"], bool(w["count"])) for p, ws in data["lines"].items()
               for w in ws if w["status"] in (EXECUTED, MISSED)]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MipError(f"--compare {earlier}: not a coverage.json of mip6kit coverage "
                       f"({e})") from e
    # numbered among the lines with code on both sides, as the report has them
    now_code = [(ln.patch, ln.path, ln.text, ln.status == EXECUTED) for ln in lines
                if ln.status in (EXECUTED, MISSED)]
    before = _keys(old, True)
    now = _keys(now_code, True)
    exists = _keys(now_code, False)
    return [f"{p}: {f}: {t}" + (f" (the {n}. such line)" if n > 1 else "")
            for p, f, t, n in sorted(before - now) if (p, f, t, n) in exists]


def document(lines: list[Line], rows: list[dict], meta: dict) -> dict:
    """coverage.json: the summary, and every line the series wrote."""
    per: dict[str, list] = {}
    for ln in lines:
        per.setdefault(ln.patch, []).append(
            {"file": ln.path, "line": ln.number, "text": ln.text, "status": ln.status,
             "count": ln.count, **({"reason": ln.reason} if ln.reason else {})})
    return {**meta, "patches": rows, "lines": per}
