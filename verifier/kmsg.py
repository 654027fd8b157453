# SPDX-License-Identifier: GPL-2.0-only
"""Marks in the kernel log: "mip6kit: start NAME" and "mip6kit: end NAME"
(verifier/contract.py's KMSG_START and KMSG_END) as each test or selftest
script starts and ends, written to /dev/kmsg.  The console carries them
with the kernel's own messages, so the host (vm/crash.py) can name the test
that was running when a crash was printed, also when the guest died.

The guest is the verifier's alone, so printk's rate limit of /dev/kmsg
writers (ten lines per five seconds) is switched off for the marks: a run of
quick tests (skips, parametrized cases) would otherwise lose some.  A kernel
without /dev/kmsg, or a verifier run by hand without root, just has no marks.
Imports os only: the guest pays for every import under TCG.
"""

import os

LEVEL = b"<5>"  # notice: on the console at vng's loglevel=7, not a warning


class Marks:
    def __init__(self, path: str = "/dev/kmsg"):
        self.fd = None
        try:
            with open("/proc/sys/kernel/printk_devkmsg", "w") as f:
                f.write("on\n")
        except OSError:
            pass
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError:
            self.fd = None

    def mark(self, prefix: str, name: str) -> None:
        """One log line: prefix (contract.KMSG_START or KMSG_END) and name,
        on one line whatever name holds."""
        if self.fd is None:
            return
        text = (prefix + " ".join(name.split())).encode("utf-8", "replace")[:900]
        try:
            os.write(self.fd, LEVEL + text + b"\n")
        except OSError:
            pass
