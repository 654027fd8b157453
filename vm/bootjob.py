# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit boot -- CMD`: build the kernel if needed, run CMD in a guest,
exit with its code; the CI reports (vm/reports.py) hold one result, the
command, with the crashes of the guest's console."""

import shlex

from mip6kit.verifier.contract import Outcome

from . import guestrun, runreport
from .boot import boot
from .errors import MipError
from .job import Job
from .spec import BootSpec

GROUP = "boot"


def run(job: Job, spec: BootSpec) -> int:
    """Call with the work dir lock held; the command's exit code."""
    with runreport.recording(job) as rec:
        return _run(rec, spec)


def _run(rec: runreport.Recorder, spec: BootSpec) -> int:
    job = rec.job
    variant = job.kernel(spec.baseline)
    name = shlex.join(spec.command)
    outdir = job.rundir / "boot"
    try:
        image = rec.build(variant)
        kvm = guestrun.decide_kvm(job, image, spec.guest.kvm)
        res = boot(image, list(spec.command), outdir, job.runner, kvm=kvm,
                   rwdirs=list(spec.rwdirs), timeout=spec.guest.timeout,
                   qemu_opts=list(spec.qemu_opts))
    except MipError as e:
        if variant in rec.builds and rec.builds[variant].ok:  # the guest crashed or hung
            rec.results = runreport.guest_results(outdir, variant, {name: Outcome.FAILED},
                                                  GROUP, name, GROUP)
        else:  # no kernel to run it on: NIPA's failed "build"
            rec.results = [runreport.failure(e)]
        raise
    rec.results = runreport.guest_results(
        outdir, variant, {name: Outcome.PASSED if res.rc == 0 else Outcome.FAILED}, GROUP, name,
        GROUP)
    rec.results[0].seconds = res.seconds
    return res.rc
