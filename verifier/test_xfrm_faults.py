# SPDX-License-Identifier: GPL-2.0-only
"""Every allocation of a HoA state's NEWSA and MIGRATE failing in turn.

The error paths of a failed kmemdup (the HoA copied into a new state, or
into the clone MIGRATE makes) are reached from userspace only through
fault injection: /proc/thread-self/fail-nth makes the n-th slab
allocation of this thread fail (FAILSLAB, with GFP_KERNEL allocations
included).  For n = 1, 2, ... until the request no longer reaches its
n-th allocation, the request must either fail and leave the SAD as it
was, or succeed whole (a failed notification does not undo the state);
never a partial state, and no splat (no_splat).  On the debug profile the
guest's kmemleak scan then catches an error path that leaks.

The coverage and debug profiles have FAILSLAB; elsewhere these skip.
These tests guard no patch: they hold on every kernel.
"""

import errno
import os
import socket
from pathlib import Path

import pytest

from . import features
from .mcoa import HA, HOA, Link
from .netns import namespaces
from .xfrmnl import (
    IPPROTO_DSTOPTS,
    XFRM_MODE_ROUTEOPTIMIZATION,
    XFRM_MODE_TRANSPORT,
    XFRM_POLICY_OUT,
    XFRM_SA_DIR_OUT,
    Tmpl,
    Xfrm,
    XfrmError,
)

FAILSLAB = Path("/sys/kernel/debug/failslab")
FAIL_NTH = Path("/proc/thread-self/fail-nth")
COA1, COA2 = Link(1).coa, Link(2).coa
RO = dict(proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION)
LIMIT = 400  # far more allocations than either request makes
# a refusal by the injected failure itself, or its ack lost (ENOBUFS)
FAILED = {errno.ENOMEM, errno.ENOBUFS}
# xfrm_migrate() reports a state it could not clone as ENODATA
MIGRATE_FAILED = FAILED | {errno.ENODATA}


class FailNth:
    """/proc/thread-self/fail-nth, opened once: opening it allocates, and
    an open between arming it and the request would take the failure."""

    def __init__(self):
        self.fd = os.open(FAIL_NTH, os.O_RDWR)

    def arm(self, n: int) -> None:
        os.pwrite(self.fd, str(n).encode(), 0)

    def left(self) -> int:
        """0 once the failure was injected; else how far the count got."""
        return int(os.pread(self.fd, 32, 0))

    def close(self) -> None:
        os.pwrite(self.fd, b"0", 0)
        os.close(self.fd)


@pytest.fixture
def failslab(no_splat):
    """FAILSLAB on for GFP_KERNEL allocations too, without its stack dumps
    (a dump's Call Trace would read as a kernel splat)."""
    features.require("FAILSLAB")
    if not FAILSLAB.is_dir():
        pytest.skip(f"{FAILSLAB} missing (CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs)")
    knobs = {"ignore-gfp-wait": "N", "verbose": "0"}
    saved = {k: (FAILSLAB / k).read_text().strip() for k in knobs}
    for k, v in knobs.items():
        (FAILSLAB / k).write_text(v)
    nth = FailNth()
    try:
        yield nth
    finally:
        nth.close()
    for k, v in saved.items():
        (FAILSLAB / k).write_text(v)


def sad(x: Xfrm) -> list:
    """The states as parse_sa() reads them (not their add times)."""
    return sorted(x.dump_sa(), key=repr)


def sweep(nth: FailNth, x: Xfrm, request, undo, failed=FAILED) -> tuple[int, int]:
    """request() with its n-th allocation failing, n = 1, 2, ...; after each
    failure the SAD must be as before, after each success as after an
    uninjected run (then undo() restores it).  (failed runs, the run that
    reached no n-th allocation)."""
    before = sad(x)
    request()
    whole = sad(x)
    undo()
    assert sad(x) == before, "undo() did not restore the SAD"
    failures = 0
    for n in range(1, LIMIT):
        nth.arm(n)
        try:
            request()
            err = None
        except OSError as e:  # XfrmError, or ENOBUFS on the socket: the ack was lost
            err = e
        except MemoryError:  # the failure hit Python's own mmap before the request
            nth.arm(0)
            assert sad(x) == before, f"allocation {n} failed in userspace: the SAD changed"
            continue
        left = nth.left()
        nth.arm(0)
        now = sad(x)
        if err is not None:
            failures += 1
            assert err.errno in failed, f"allocation {n} failed: the request got {err}"
            assert now in (before, whole), f"allocation {n} failed: a partial SAD"
        else:
            assert now == whole, f"allocation {n} failed, the request succeeded: SAD differs"
        if now != before:
            undo()
        if left:  # the request made fewer than n allocations: all were tried
            return failures, n
    pytest.fail(f"the request made more than {LIMIT} allocations")


def test_newsa_with_home_address_survives_each_failed_allocation(failslab):
    """NEWSA of a HoA state (COADDR and HOADDR copied into the state) with
    each of its allocations failing in turn."""
    with namespaces("mn") as (mn,), Xfrm(mn.name) as x:
        failed, n = sweep(
            failslab, x, lambda: x.add_sa(COA1, HA, coaddr=COA1, hoaddr=HOA, sa_dir=XFRM_SA_DIR_OUT, **RO),
            lambda: x.delete_sa(HA, IPPROTO_DSTOPTS, 0, src=COA1))
    print(f"NEWSA: {n - 1} allocations, {failed} of them failed the request")
    assert failed, "no injected failure reached the request"


def test_migrate_of_home_address_state_survives_each_failed_allocation(failslab):
    """MIGRATE of a HoA state (xfrm_state_clone() copies HOADDR) CoA1 ->
    CoA2 with each allocation failing in turn; undone by migrating back."""
    esp = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)
    # the template's entry too: a MIGRATE that moves no template fails
    moves = [dict(old_src=COA1, old_dst=HA, new_src=COA2, new_dst=HA, **kind)
             for kind in (RO, esp)]
    back = [dict(old_src=COA2, old_dst=HA, new_src=COA1, new_dst=HA, **kind)
            for kind in (RO, esp)]
    with namespaces("mn") as (mn,), Xfrm(mn.name) as x:
        x.add_sa(COA1, HA, coaddr=COA1, hoaddr=HOA, sa_dir=XFRM_SA_DIR_OUT, **RO)
        # MIGRATE moves a policy's templates; an ESP transport one stands in
        x.add_policy(XFRM_POLICY_OUT, "::/0", f"{HA}/128", tmpls=[Tmpl(**esp)])

        def undo():
            x.migrate("::/0", f"{HA}/128", XFRM_POLICY_OUT, back)

        try:
            failed, n = sweep(
                failslab, x, lambda: x.migrate("::/0", f"{HA}/128", XFRM_POLICY_OUT, moves),
                undo, MIGRATE_FAILED)
        except XfrmError as e:
            pytest.fail(f"MIGRATE without an injected failure: {e}")
    print(f"MIGRATE: {n - 1} allocations, {failed} of them failed the request")
    assert failed, "no injected failure reached the request"


HA2 = "2001:db8:1::2"


def test_migrate_onto_an_existing_state_fails_cleanly(failslab):
    """A MIGRATE that moves a state to another home agent address where a
    state with the same addresses exists: xfrm_state_add() of the clone
    fails (EEXIST) and the clone is dropped, never added.  It must leave
    both states as they were and log nothing.  (Before mainline's
    5502bc4746e8, "xfrm: make state as DEAD before final put when migrate
    fails", which the series backports, that put warned in
    __xfrm_state_destroy().  No allocation fails here: the test sits
    among the fault tests because on a kernel without the patch the
    warning stops the guest, which the coverage and debug profiles are
    for; scripts/fault-demo.sh.)"""
    esp = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)
    with namespaces("mn") as (mn,), Xfrm(mn.name) as x:
        x.add_sa(COA1, HA, coaddr=COA1, hoaddr=HOA, sa_dir=XFRM_SA_DIR_OUT, **RO)
        x.add_sa(COA1, HA2, coaddr=COA1, hoaddr=HOA, sa_dir=XFRM_SA_DIR_OUT, **RO)
        x.add_policy(XFRM_POLICY_OUT, "::/0", f"{HA}/128", tmpls=[Tmpl(**esp)])
        before = sad(x)
        with pytest.raises(XfrmError) as exc:
            x.migrate("::/0", f"{HA}/128", XFRM_POLICY_OUT,
                      [dict(old_src=COA1, old_dst=HA, new_src=COA1, new_dst=HA2, **kind)
                       for kind in (RO, esp)])
        assert sad(x) == before, "a failed MIGRATE changed the SAD"
    assert exc.value.errno in (errno.ENODATA, errno.EEXIST), exc.value
