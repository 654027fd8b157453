# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit selftests`: upstream net selftests on the baseline and the
patched kernel, side by side.

Both kernels are built with the selftests profile (vm/profiles/).  The
scripts, lib.sh and the helper programs they need (nettest, cmsg_sender,
udpgso, compiled here from the tree's own sources) are staged in the run
directory; the guests share the host's userspace, so host binaries run
there.  verifier/kselftest.py runs them in each guest and hands back
per-test results.  Each script runs --repeat times per kernel; a test whose
outcome changes between repeats on one kernel is reported as flaky.  A test
whose outcome differs between the kernels, consistently, fails the run; one
that fails on both is reported as pre-existing, with the script's last lines
as its reason.
"""

import json
import logging
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from mip6kit.verifier import contract
from mip6kit.verifier.contract import Outcome

from . import guestrun, reports, runreport
from .errors import Exit, MipError
from .job import Job, locked
from .proc import Runner
from .scratch import touched_paths
from .spec import SelftestsSpec
from .stage import NET, compile_helper, copy_script

log = logging.getLogger(__name__)

HELPERS = ("nettest", "cmsg_sender", "udpgso")
# copied when the tree has them (6.1 has no lib.sh)
SUPPORT = ("lib.sh", "in_netns.sh", "net_helper.sh")
# fcnal-test.sh has over 1,000 cases and takes hours under TCG: its IPv6
# UDP and socket-bind groups are the ones that cross the series' code.
DEFAULT_SCRIPTS = ("fib_tests.sh", "fib_rule_tests.sh", "cmsg_ipv6.sh", "cmsg_so_mark.sh",
                   "udpgso.sh", "xfrm_policy.sh", "fcnal-test.sh:-t ipv6_udp")
SMOKE_SCRIPTS = ("cmsg_ipv6.sh", "udpgso.sh")
# Debian's stable trees backported fcnal-test.sh changes that call two
# functions the script never sources: slowwait (upstream net/lib.sh, which
# 6.1 does not have) and wait_local_port_listen (net_helper.sh, on both
# bases).  Without them the script races its own servers: "command not
# found", then a client that starts before its server fails at random, on
# either kernel.  Both are staged as commands on the guest's PATH.  slowwait
# has lib.sh's meaning (timeout in seconds, retry every 0.1 s); a script that
# sources lib.sh uses its own function instead.
SLOWWAIT = """#!/bin/bash
# slowwait TIMEOUT_SEC CMD...: run CMD every 0.1 s until it succeeds (mip6kit)
end=$(($(date +%s%3N) + $1 * 1000)); shift
until out=$("$@"); do
	[ "$(date +%s%3N)" -ge "$end" ] && exit 1
	sleep 0.1
done
echo -n "$out"
"""
WAIT_LISTEN = """#!/bin/bash
# wait_local_port_listen NS PORT PROTO: net_helper.sh's function as a command (mip6kit)
source "$(dirname "$0")/net_helper.sh"
wait_local_port_listen "$@"
"""
COMMANDS = {"slowwait": SLOWWAIT, "wait_local_port_listen": WAIT_LISTEN}


def stage(src: Path, dest: Path, specs: list[str], runner: Runner) -> Path:
    """Copy the scripts and their support files from the tree, and compile
    the helper programs into dest."""
    net = src / NET
    dest.mkdir(parents=True, exist_ok=True)
    for name in dict.fromkeys(s.partition(":")[0] for s in specs):
        copy_script(net, name, dest)
    for name in SUPPORT:
        if (net / name).is_file():
            shutil.copy2(net / name, dest / name)
    for name, text in COMMANDS.items():
        (dest / name).write_text(text)
        (dest / name).chmod(0o755)
    for helper in HELPERS:
        compile_helper(net, helper, dest, runner)
    return dest


@dataclass(frozen=True)
class Row:
    script: str
    test: str
    outcomes: dict  # variant -> outcome
    reason: str = ""

    @property
    def flaky(self) -> bool:
        return Outcome.FLAKY in self.outcomes.values()

    @property
    def differs(self) -> bool:
        return not self.flaky and len(set(self.outcomes.values())) > 1

    @property
    def pre_existing(self) -> bool:
        """Fails on every kernel (a flaky row is listed as flaky only)."""
        return not self.flaky and not self.differs and Outcome.FAILED in self.outcomes.values()


def compare(results: dict[str, dict], specs: list[str]) -> list[Row]:
    """results: variant -> selftests.json.  A script missing from a variant
    (the guest died first) is one 'unfinished' row."""
    rows = []
    for spec in specs:
        per = {v: r.get(spec) for v, r in results.items()}
        if any(p is None for p in per.values()):
            rows.append(Row(spec, "(whole script)",
                            {v: Outcome.UNFINISHED if p is None else "ran" for v, p in per.items()}))
            continue
        names = list(dict.fromkeys(t for p in per.values() for t in p["tests"]))
        for name in names:
            outcomes = {v: p["tests"].get(name, Outcome.MISSING) for v, p in per.items()}
            reason = ""
            if Outcome.FAILED in outcomes.values():  # the first kernel's last lines
                tail = next(iter(per.values()))["tail"][-3:]
                reason = "".join(tail).strip().replace("\n", " | ")[:160]
            rows.append(Row(spec, name, outcomes, reason))
    return rows


def missing_commands(results: dict[str, dict], specs: list[str]):
    """(spec, variant, commands) for each script that called a command the
    guest did not have."""
    for spec in specs:
        for variant, res in results.items():
            if (cmds := (res.get(spec) or {}).get("missing")):
                yield spec, variant, cmds


def render(rows: list[Row], specs: list[str], results: dict[str, dict]) -> str:
    variants = list(results)
    lines = ["per script: " + ", ".join(f"{v} passed/failed/skipped/flaky" for v in variants)]
    for spec in specs:
        cells = []
        for v in variants:
            res = results[v].get(spec)
            if res is None:
                cells.append(f"{v} unfinished")
                continue
            o = list(res["tests"].values())
            counts = "/".join(str(o.count(k)) for k in (Outcome.PASSED, Outcome.FAILED,
                                                          Outcome.SKIPPED, Outcome.FLAKY))
            cells.append(f"{v} {counts} ({res['seconds']:.0f} s)")
        lines.append(f"  {spec:<28} " + "  ".join(cells))
    differ = [r for r in rows if r.differs]
    pre = [r for r in rows if r.pre_existing]
    flaky = [r for r in rows if r.flaky]
    for spec, variant, cmds in missing_commands(results, specs):
        lines.append(f"  COMMAND NOT FOUND: {spec} on the {variant} kernel called "
                     f"{', '.join(cmds)}: its results race or stop early; stage the "
                     "command (vm/selftests.py COMMANDS) or install it")
    lines.append("")
    lines.append(f"{len(rows)} tests, {len(differ)} differ between the kernels, "
                 f"{len(pre)} fail on both (pre-existing), {len(flaky)} flaky (outcome "
                 "changed between repeats on one kernel)")
    for title, group in (("DIFFERS", differ), ("pre-existing", pre), ("flaky", flaky)):
        for r in group:
            states = ", ".join(f"{v} {o}" for v, o in r.outcomes.items())
            lines.append(f"  {title}: {r.script}: {r.test}: {states}"
                         + (f"; last lines: {r.reason}" if r.reason else ""))
    return "\n".join(lines) + "\n"


def check_scripts(origin: Path, specs: list[str], patches: list[Path]) -> None:
    """Every script named is in the tree's tools/testing/selftests/net, or
    one the series adds: refused before any build."""
    net = origin / NET
    added = {Path(p).name for p in touched_paths(patches) if Path(p).parent == NET}
    missing = [name for s in specs if not (net / (name := s.partition(":")[0])).is_file()
               and name not in added]
    if missing:
        raise MipError(f"no selftest {', '.join(missing)} in {net}; the scripts there are "
                       "the *.sh files (e.g. " + ", ".join(DEFAULT_SCRIPTS[:3]) + ")")


def per_kernel(results: dict[str, dict]) -> dict[str, dict[str, Outcome]]:
    """variant -> "SCRIPT::TEST" -> outcome, from each kernel's selftests.json."""
    return {v: {f"{script}::{test}": Outcome(o) for script, res in r.items()
                for test, o in res["tests"].items()} for v, r in results.items()}


def verdicts(rows: list[Row], specs: list[str], results: dict[str, dict]) -> list:
    """The run's verdict per test (vm/reports.py's matrix group): a test
    whose outcome differs between the kernels, or that did not finish,
    fails; a flaky or pre-existing one does not (as the exit code has it).
    A script that called a missing command is a failed verdict of its own."""
    out = [reports.Result(f"{r.script}::{r.test}" if r.test != "(whole script)" else r.script,
                          reports.MATRIX, Outcome.FAILED if r.differs
                          or Outcome.UNFINISHED in r.outcomes.values() else Outcome.PASSED,
                          comment="differs between the kernels" if r.differs else
                          "unfinished" if Outcome.UNFINISHED in r.outcomes.values() else "")
           for r in rows]
    out += [reports.Result(spec, reports.MATRIX, Outcome.FAILED,
                           comment=f"command not found on the {variant} kernel: "
                                   f"{', '.join(cmds)}")
            for spec, variant, cmds in missing_commands(results, specs)]
    return out


def _report(rec: runreport.Recorder, results: dict[str, dict]) -> None:
    rec.results = []
    tests = per_kernel(results)
    for variant in rec.builds:
        rec.results += runreport.guest_results(rec.job.rundir / variant, variant,
                                               tests.get(variant, {}), suite="selftests")


def _load(job: Job, variant: str) -> dict | None:
    path = job.rundir / variant / contract.SELFTESTS
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run(job: Job, spec: SelftestsSpec) -> Exit:
    specs, variants = list(spec.scripts), job.variants()
    check_scripts(job.tree.origin, specs, job.patches)
    with runreport.recording(job) as rec:
        try:
            return _run(rec, spec, specs, variants)
        except MipError as e:
            if not job.runner.dry_run:
                _report(rec, {v: r for v in variants if (r := _load(job, v)) is not None})
                rec.results.append(runreport.failure(e))
            raise


def _run(rec: runreport.Recorder, spec: SelftestsSpec, specs: list[str],
         variants: list[str]) -> Exit:
    job = rec.job
    with locked(job):
        images = {v: rec.build(v) for v in variants}
        staged = job.rundir / "selftests-net"
        if not job.runner.dry_run:
            stage(job.src("baseline"), staged, specs, job.runner)
        command = [sys.executable, "-m", "mip6kit.verifier.kselftest", str(staged),
                   f"{spec.script_timeout:g}", str(spec.repeat), *specs]
        use_kvm = guestrun.decide_kvm(job, images[variants[0]], spec.guest.kvm)
        verified = guestrun.verify(job, images, use_kvm, spec.guest.timeout, command)
    if job.runner.dry_run:
        return Exit.PASS
    results = {}
    for variant in verified:
        if (res := _load(job, variant)) is None:
            raise MipError(f"{job.rundir / variant / contract.SELFTESTS} missing: no "
                           f"selftest finished in the {variant} guest (exit "
                           f"{verified[variant].rc}); its errors are in "
                           f"{verified[variant].console}", Exit.TEST_FAILURE)
        results[variant] = res
    rows = compare(results, specs)
    table = render(rows, specs, results)
    (job.rundir / "selftests.txt").write_text(table)
    sys.stdout.write(table)
    log.info("results in %s", job.rundir)
    _report(rec, results)
    rec.results += verdicts(rows, specs, results)
    bad = [r for r in rows if r.differs or Outcome.UNFINISHED in r.outcomes.values()]
    return Exit.TEST_FAILURE if bad or any(missing_commands(results, specs)) else Exit.PASS
