# SPDX-License-Identifier: GPL-2.0-only
"""Entry point inside the guest for `mip6kit selftests`: run upstream net
selftest scripts, one after the other, and hand back each one's results.

  python -m mip6kit.verifier.kselftest DIR TIMEOUT REPEAT SCRIPT[:ARGS]...

DIR holds the scripts, lib.sh and the helper programs (nettest,
cmsg_sender, udpgso); it is read-only in the guest, so the scripts run from
a writable copy in /tmp.  Each script runs REPEAT times in a row, each under
timeout(1).  Its output goes to stdout as KTAP diagnostic lines, then "ok N"
or "not ok N" for the script; selftests.json (verifier/handoff.py) is
handed back after each script, so a guest that dies keeps what finished.
A test whose outcome is not the same in every repeat is Outcome.FLAKY: under TCG
some upstream tests race their own helpers, and only a difference that
holds in every repeat says something about the kernel.

Per-test results come from the scripts' own lines:
  TEST: <name>  [ OK ] / [FAIL] / [SKIP] / [XFAIL]   (lib.sh log_test style)
  PASS: <name> / FAIL: <name> / SKIP: <name>          (xfrm_policy.sh)
udpgso.sh prints each case's name before running it and stops at the first
failure (errexit).  cmsg_ipv6.sh and cmsg_so_mark.sh name only the cases
that fail ("  Case <name> returned X, expected Y"): each is a failed test,
and the script as a whole is one more, judged by its exit code.  A script
with none of these is one test, judged by its exit code (0 pass, 4 skip,
else fail).
"""

import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mip6kit.verifier import contract, handoff, kmsg
from mip6kit.verifier.cmd import stream
from mip6kit.verifier.contract import Outcome

TEST_LINE = re.compile(r"^\s*TEST:\s*(?P<name>.*?)\s*\[\s*(?P<res>OK|FAIL|SKIP|XFAIL)\s*\]\s*$")
VERDICT_LINE = re.compile(r"^\s*(?P<res>PASS|FAIL|SKIP):\s*(?P<name>.+?)\s*$")
CASE_FAILED = re.compile(r"^\s*Case (?P<name>.*) returned \S+, expected \S+\s*$")
# bash's "./x.sh: line N: NAME: command not found": a helper the staged
# directory lacks, so the script's results say nothing (vm/selftests.py)
NOT_FOUND = re.compile(r": (?P<cmd>[\w.+-]+): command not found\s*$", re.MULTILINE)
OUTCOME = {"OK": Outcome.PASSED, "PASS": Outcome.PASSED, "FAIL": Outcome.FAILED,
           "SKIP": Outcome.SKIPPED, "XFAIL": Outcome.XFAILED}
KSFT_SKIP = 4
TIMED_OUT = 124  # timeout(1)


def parse(script: str, output: str, rc: int) -> dict[str, Outcome]:
    """Test name -> outcome for one script's output and exit code."""
    tests: dict[str, Outcome] = {}

    def add(name: str, outcome: Outcome) -> None:
        key, n = name, 1
        while key in tests:  # the same text twice in one script
            n += 1
            key = f"{name} [{n}]"
        tests[key] = outcome

    if script == "udpgso.sh":
        cases = [ln.strip() for ln in output.splitlines()
                 if re.fullmatch(r"ipv[46] [a-z_ -]+", ln.strip())]
        for i, case in enumerate(cases):
            last = i == len(cases) - 1
            add(case, Outcome.FAILED if last and rc != 0 else Outcome.PASSED)
        if rc != 0 and not cases:
            add(script, Outcome.FAILED)
        return tests
    listed_all = False  # TEST: lines list every test; Case lines only failures
    for line in output.splitlines():
        if (m := TEST_LINE.match(line) or VERDICT_LINE.match(line)):
            add(m["name"], OUTCOME[m["res"]])
            listed_all = True
        elif (c := CASE_FAILED.match(line)):
            add(c["name"], Outcome.FAILED)
    if not listed_all:
        add(script, Outcome.PASSED if rc == 0 else Outcome.SKIPPED if rc == KSFT_SKIP else Outcome.FAILED)
    elif rc == TIMED_OUT:
        add(f"{script} (timed out)", Outcome.FAILED)
    return tests


def run_script(workdir: Path, spec: str, timeout: float) -> dict:
    script, _, args = spec.partition(":")
    argv = ["timeout", "-k", "10", str(int(timeout)), "bash", f"./{script}", *shlex.split(args)]
    env = dict(os.environ, PATH=f"{workdir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    start = time.monotonic()
    lines = []

    def echo(line: str) -> None:
        lines.append(line)
        sys.stdout.write("# " + line)
        sys.stdout.flush()

    rc = stream(argv, echo, cwd=workdir, env=env)
    output = "".join(lines)
    return {"args": args, "rc": rc, "seconds": round(time.monotonic() - start, 1),
            "tests": parse(script, output, rc), "tail": lines[-25:],
            "missing": sorted({m["cmd"] for m in NOT_FOUND.finditer(output)})}


def merge(runs: list[dict]) -> dict:
    """One script's repeats as one result; a test with different outcomes
    across the repeats is 'flaky'."""
    tests: dict[str, str] = {}
    for name in dict.fromkeys(t for r in runs for t in r["tests"]):
        seen = {r["tests"].get(name, Outcome.MISSING) for r in runs}
        tests[name] = seen.pop() if len(seen) == 1 else Outcome.FLAKY
    return {"args": runs[-1]["args"], "rc": [r["rc"] for r in runs],
            "seconds": round(sum(r["seconds"] for r in runs), 1), "tests": tests,
            "tail": runs[-1]["tail"],
            "missing": sorted({c for r in runs for c in r["missing"]})}


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    source, timeout, repeat, specs = Path(argv[0]), float(argv[1]), int(argv[2]), argv[3:]
    workdir = Path(tempfile.mkdtemp(prefix="mip6kit-selftests-")) / "net"
    shutil.copytree(source, workdir)
    results: dict[str, dict] = {}
    marks = kmsg.Marks()  # the host names the script a crash came in (vm/crash.py)
    print("KTAP version 1")
    print(f"1..{len(specs)}")
    for n, spec in enumerate(specs, 1):
        runs = []
        marks.mark(contract.KMSG_START, spec)
        for i in range(repeat):
            print(f"# running {spec} ({i + 1} of {repeat})", flush=True)
            runs.append(run_script(workdir, spec, timeout))
        marks.mark(contract.KMSG_END, spec)
        res = results[spec] = merge(runs)
        bad = [t for t, o in res["tests"].items() if o == Outcome.FAILED]
        flaky = sum(o == Outcome.FLAKY for o in res["tests"].values())
        print(f"# {spec}: {len(res['tests'])} tests, {len(bad)} failed, {flaky} flaky, "
              f"exit {res['rc']}, {res['seconds']} s")
        if res["missing"]:
            print(f"# {spec}: command not found: {', '.join(res['missing'])}")
        print(f"{'not ok' if bad or res['missing'] else 'ok'} {n} {spec.replace(' ', '_')}",
              flush=True)
        handoff.send(contract.SELFTESTS, json.dumps(results, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
