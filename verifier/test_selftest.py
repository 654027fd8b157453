# SPDX-License-Identifier: GPL-2.0-only
"""The series' in-tree selftest, tools/testing/selftests/net/mip6_hao.sh
(patch "selftests: net: add a Mobile IPv6 home address option test"), run
on this kernel: each of its KTAP cases is a test here, guarded like the
verifier's own tests.

The host stages the script and its helper, compiled from the patched tree,
under that tree's kselftest runner (vm/stage.py runner), and names the
directory in MIP6KIT_SELFTEST_DIR; the same files then run on the baseline
kernel, as `run_kselftest.sh -s -t net:mip6_hao.sh` from a writable copy.
The runner prints its verdict for the whole script, and with -s (the one
logging option 6.1's runner has too) writes the script's own KTAP, prefixed
with "# ", to output.log beside itself.  (Without it the runner writes that
to /dev/stdout, which virtme-ng links to its console port, around any pipe.)
The script's oracle is the home agent's kernel, and its controls tell a
broken set-up from a checksum failure.
"""

import functools
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from . import patchnames
from .cmd import cmd
from .contract import ENV_SELFTEST_DIR

SCRIPT = "mip6_hao.sh"
CASES = {
    # case: the patches it guards (all must be in: it flips at the last)
    "control_home_source": (),
    "mh_cmsg_hao": (patchnames.RAW,),
    "mh_sticky_hao": (patchnames.RAW,),
    "icmp_cmsg_hao": (patchnames.RAW,),
    "udp_cmsg_hao": (patchnames.UDP,),
    "control_pktinfo_link_without_hao": (),
    "hao_pktinfo_link": (patchnames.EGRESS,),
    "mh_type_selective_policy": (patchnames.RAW, patchnames.MH_TYPE),  # its BU has a cmsg HAO
    "hoaddr_state": (patchnames.HOA,),
    "hoaddr_state_pktinfo_link": (patchnames.HOA, patchnames.EGRESS),
    "rh2_and_hao": (patchnames.UDP,),
}
RESULT = re.compile(r"^(ok|not ok) \d+ (\S+)(?: # SKIP (.*))?$")
RUNNER_VERDICT = re.compile(rf"^(ok|not ok) \d+ selftests: net: {re.escape(SCRIPT)}(?: # (.*))?$")


@functools.cache
def run_script() -> tuple[dict[str, tuple[str, str]], str]:
    """{case: (verdict, skip reason)} and the script's own output, from one
    run under the kselftest runner."""
    where = os.environ.get(ENV_SELFTEST_DIR)
    if not where:
        pytest.skip(f"{ENV_SELFTEST_DIR} not set: the host stages the selftest "
                    "from the patched tree (mip6kit run without --baseline-only)")
    with tempfile.TemporaryDirectory(prefix="mip6kit-kselftest-") as tmp:
        top = Path(tmp) / "kselftest"  # the staged dir is read-only in the guest
        shutil.copytree(where, top)
        res = cmd(["bash", str(top / "run_kselftest.sh"), "-s", "-t", f"net:{SCRIPT}"],
                  timeout=300, check=False)
        log = top / "output.log"
        assert log.is_file(), f"run_kselftest.sh -s wrote no {log}:\n{res.stdout}{res.stderr}"
        lines = log.read_text().splitlines()
    verdicts = [m for ln in res.stdout.splitlines() if (m := RUNNER_VERDICT.match(ln))]
    assert verdicts, f"run_kselftest.sh gave no verdict for {SCRIPT}:\n{res.stdout}{res.stderr}"
    _, note = verdicts[-1].groups()
    # the script's lines, without the runner's prefix
    out = "\n".join(ln[2:] for ln in lines if ln.startswith("# "))
    cases = {}
    for line in out.splitlines():
        if (m := RESULT.match(line)):
            cases[m.group(2)] = (m.group(1), m.group(3) or "")
    if note and note.startswith("SKIP") and not cases:
        pytest.skip(f"{SCRIPT} skipped: {out.strip().splitlines()[-1:]}")
    assert not (note and note.startswith("TIMEOUT")), f"{SCRIPT}: {note}:\n{out}"
    return cases, out


@pytest.mark.parametrize("case", [
    pytest.param(name, marks=[pytest.mark.patch(p) for p in guards])
    for name, guards in CASES.items()
])
def test_mip6_hao_selftest(case):
    """One KTAP case of the selftest: ok passes, not ok fails with the
    script's diagnostics for it, ok # SKIP skips with its reason."""
    cases, out = run_script()
    assert case in cases, f"{SCRIPT} did not report {case}:\n{out}"
    verdict, reason = cases[case]
    if reason:
        pytest.skip(f"{SCRIPT}: {reason}")
    notes = [ln for ln in out.splitlines() if ln.startswith(f"# {case}:")]
    assert verdict == "ok", "\n".join(notes) or out
