# SPDX-License-Identifier: GPL-2.0-only
"""A run's results in two CI formats, written into its run directory:
nipa.json (netdev NIPA's contest results) and kcidb.json (KernelCI's KCIDB
v5.3).  vm/runreport.py gathers what a command ran; this module only
writes.  Any command calls write(rundir, checkout, builds, results).

nipa.json is the file a NIPA executor uploads for one branch
(contest/remote/lib/fetcher.py): {"executor": "mip6kit", "branch": LABEL,
"start", "end", "results": [...]}, with LABEL the tree and the series
("linux-source-6.12+mip6kit-<8 hex of the patchset hash>", "+no-series"
without one) and start and end as str() of an aware UTC datetime.  Each
result is {"test", "group", "result", "time"?, "retry"?, "crashes"?}
(contest/remote/vmksft-p.py):
- test: the name NIPA's namify() makes (runs of characters outside
  [0-9a-zA-Z] become "-", a trailing "-" goes); two names that namify alike
  in one group get "-2", "-3" (kselftest's way with repeated names).
- group: "mip6kit-" and the Result's group.  One group per kernel
  ("mip6kit-baseline", "mip6kit-patched", "mip6kit-boot" for `mip6kit
  boot`'s command) holds what each test did on that kernel, and the group
  "mip6kit-matrix" holds the verdict: one row per test, "pass" when the
  test met its expectation across the kernels (a test that guards a patch
  must FAIL on the baseline, so its baseline row says "fail" and its
  matrix row "pass"), and "fail" when it did not.  The matrix rows are
  what the exit code is made from: a dashboard that wants mip6kit's
  verdict reads that group only.
- result: pass (passed, xfailed), skip, fail (failed, error, xpassed,
  unfinished, and any test a crash fingerprint is attributed to, as NIPA
  marks a test that crashed the kernel).  A selftest whose outcome changed
  between repeats on one kernel (flaky) is written as NIPA writes a flake:
  result "fail", retry "pass", no crashes.
- time: seconds, when known; crashes: NIPA fingerprints (vm/crash.py), or
  ["crash-extract-fail"].

kcidb.json is one KCIDB v5.3 document: one checkout (id "mip6kit:RUNDIR",
origin "mip6kit", patchset_hash as KCIDB defines it: sha256 over the
newline-terminated sha256 of each patch file, in order, "" without a
series), one build per kernel variant (architecture x86_64, config_name
the profile), and one test per test per kernel, whose path is "mip6kit."
and the node id's parts ("test_x.py::test_y[a-b]" is
"mip6kit.test_x.test_y_a-b"; `mip6kit boot`'s command is under
"mip6kit.boot.", a selftest under "mip6kit.selftests.SCRIPT."), status PASS/FAIL/ERROR/MISS/SKIP (a test
that never finished because the guest died is MISS, unless a crash is
attributed to it: FAIL), and misc {"outcome", "crashes", "nipa_test"}.
KCIDB has no place for a verdict across builds: the matrix rows go into the
checkout's misc "verdict" ({test: "pass" | "fail: why"}).  The schema
forbids nulls: a field that is unknown is left out.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mip6kit.verifier.contract import Outcome

EXECUTOR = ORIGIN = "mip6kit"
NIPA_FILE = "nipa.json"
KCIDB_FILE = "kcidb.json"
GROUP_PREFIX = "mip6kit-"
MATRIX = "matrix"  # the verdict's group
ARCH = "x86_64"
KCIDB_VERSION = {"major": 5, "minor": 3}

NIPA_RESULT = {Outcome.PASSED: "pass", Outcome.XFAILED: "pass", Outcome.SKIPPED: "skip",
               Outcome.FAILED: "fail", Outcome.ERROR: "fail", Outcome.XPASSED: "fail",
               Outcome.UNFINISHED: "fail", Outcome.FLAKY: "fail", Outcome.MISSING: "skip"}
KCIDB_STATUS = {Outcome.PASSED: "PASS", Outcome.XFAILED: "PASS", Outcome.SKIPPED: "SKIP",
                Outcome.FAILED: "FAIL", Outcome.ERROR: "ERROR", Outcome.XPASSED: "FAIL",
                Outcome.UNFINISHED: "MISS", Outcome.FLAKY: "FAIL", Outcome.MISSING: "MISS"}
_NOT_NAME = re.compile(r"[^0-9a-zA-Z]+")
_NOT_PATH = re.compile(r"[^0-9a-zA-Z_-]+")


@dataclass
class Result:
    """One test on one kernel, or one verdict (group MATRIX, build None)."""

    test: str  # its own name: a pytest node id, "SCRIPT::TEST", a command
    group: str  # "baseline", "patched", "boot", MATRIX, ...: NIPA's group after "mip6kit-"
    outcome: Outcome
    build: str | None = None  # the Build it ran on; None: a verdict (NIPA only)
    seconds: float | None = None
    crashes: list[str] = field(default_factory=list)  # NIPA fingerprints
    comment: str = ""  # why a verdict failed
    suite: str = ""  # KCIDB path part after "mip6kit." ("boot", "selftests"); "": verifier

    @property
    def nipa(self) -> str:
        return "fail" if self.crashes else NIPA_RESULT[self.outcome]

    @property
    def kcidb(self) -> str:
        return "FAIL" if self.crashes else KCIDB_STATUS[self.outcome]


@dataclass
class Build:
    """One kernel variant: its profile, whether it built, when, how long."""

    name: str  # "baseline", "patched" (Result.build names it)
    config: str  # the profile
    ok: bool = True
    start: datetime.datetime | None = None
    seconds: float | None = None


@dataclass
class Checkout:
    """The tree and the series of a run: KCIDB's checkout, NIPA's branch."""

    tree: str  # "linux-source-6.12", or a --tree directory's name
    version: str  # "6.12.117"
    patches: list[Path]
    start: datetime.datetime
    run_id: str  # unique per run: the run directory's name

    @property
    def patchset_hash(self) -> str:
        """KCIDB's: sha256 over each patch's sha256 hex and a newline
        (`sha256sum *.patch | cut -c-64 | sha256sum`); "" without patches."""
        if not self.patches:
            return ""
        each = "".join(hashlib.sha256(p.read_bytes()).hexdigest() + "\n" for p in self.patches)
        return hashlib.sha256(each.encode()).hexdigest()

    @property
    def branch(self) -> str:
        h = self.patchset_hash
        return f"{self.tree}+mip6kit-{h[:8]}" if h else f"{self.tree}+no-series"


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def namify(name: str) -> str:
    """NIPA's test name: runs outside [0-9a-zA-Z] become "-", no trailing "-"."""
    return _NOT_NAME.sub("-", name).rstrip("-")


def kcidb_path(name: str, prefix: str = ORIGIN) -> str:
    """A KCIDB test path: prefix, then name's "::" parts (a module's ".py"
    dropped), each with every run of characters KCIDB does not allow in a
    path part made "_" ("" parts dropped)."""
    parts = [p.removesuffix(".py") for p in name.split("::")]
    clean = [c for p in parts if (c := _NOT_PATH.sub("_", p).strip("_"))]
    return ".".join([prefix, *clean])


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        key, n = name, 1
        while key in seen:
            n += 1
            key = f"{name}-{n}"
        seen[key] = 1
        out.append(key)
    return out


def nipa(checkout: Checkout, results: list[Result], end: datetime.datetime) -> dict:
    rows = []
    names = {}
    for group in dict.fromkeys(r.group for r in results):
        mine = [r for r in results if r.group == group]
        names.update(zip(map(id, mine), _unique(namify(r.test) or "unnamed" for r in mine),
                         strict=True))
    for r in results:
        row = {"test": names[id(r)], "group": GROUP_PREFIX + namify(r.group),
               "result": r.nipa}
        if r.seconds is not None:
            row["time"] = round(r.seconds, 3)
        if r.outcome == Outcome.FLAKY and not r.crashes:
            row["retry"] = "pass"
        if r.crashes:
            row["crashes"] = list(dict.fromkeys(r.crashes))
        rows.append(row)
    return {"executor": EXECUTOR, "branch": checkout.branch, "start": str(checkout.start),
            "end": str(end), "results": rows}


def _clean(text: str) -> str:
    return text.replace("\0", "")


def kcidb(checkout: Checkout, builds: list[Build], results: list[Result],
          end: datetime.datetime) -> dict:
    cid = f"{ORIGIN}:{_clean(checkout.run_id)}"
    verdict = {_clean(r.test): r.nipa + (f": {_clean(r.comment)}" if r.comment else "")
               for r in results if r.build is None}
    co = {"id": cid, "origin": ORIGIN, "tree_name": _clean(checkout.tree),
          "patchset_hash": checkout.patchset_hash, "start_time": checkout.start.isoformat(),
          "valid": True, "comment": _clean(f"{checkout.tree} {checkout.version}, "
                                           f"{len(checkout.patches)} patches"),
          "misc": {"version": checkout.version, "branch": checkout.branch,
                   "patches": [p.name for p in checkout.patches],
                   "end_time": end.isoformat(),
                   **({"verdict": verdict} if verdict else {})}}
    out_builds, ids = [], {}
    for b in builds:
        ids[b.name] = bid = f"{cid}:{_clean(b.name)}"
        entry = {"id": bid, "origin": ORIGIN, "checkout_id": cid, "architecture": ARCH,
                 "config_name": _clean(b.config), "status": "PASS" if b.ok else "FAIL",
                 "comment": _clean(f"{b.name} kernel")}
        if b.start is not None:
            entry["start_time"] = b.start.isoformat()
        if b.seconds is not None:
            entry["duration"] = round(b.seconds, 3)
        out_builds.append(entry)
    tests = []
    for n, r in enumerate(r for r in results if r.build is not None):
        if r.build not in ids:
            raise ValueError(f"result {r.test!r} names build {r.build!r}, which is not "
                             f"one of {', '.join(ids) or 'none'}")
        entry = {"id": f"{ids[r.build]}:{n}", "origin": ORIGIN, "build_id": ids[r.build],
                 "path": kcidb_path(r.test, ".".join(filter(None, (ORIGIN, r.suite)))),
                 "status": r.kcidb,
                 "comment": _clean(r.test),
                 "misc": {"outcome": str(r.outcome), "nipa_test": namify(r.test),
                          "group": GROUP_PREFIX + namify(r.group),
                          **({"crashes": list(dict.fromkeys(r.crashes))} if r.crashes else {})}}
        if r.seconds is not None:
            entry["duration"] = round(r.seconds, 3)
        tests.append(entry)
    return {"version": dict(KCIDB_VERSION), "checkouts": [co], "builds": out_builds,
            "tests": tests}


def write(rundir: Path, checkout: Checkout, builds: list[Build], results: list[Result],
          end: datetime.datetime | None = None) -> tuple[Path, Path]:
    """Write rundir/nipa.json and rundir/kcidb.json; returns their paths.
    Every Result whose build is set must name one of builds."""
    end = end or now()
    out = []
    for name, data in ((NIPA_FILE, nipa(checkout, results, end)),
                       (KCIDB_FILE, kcidb(checkout, builds, results, end))):
        path = rundir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        tmp.replace(path)
        out.append(path)
    return out[0], out[1]
