# SPDX-License-Identifier: GPL-2.0-only
"""Exit codes and the one exception type that carries them to the CLI."""

from enum import IntEnum


class Exit(IntEnum):
    """Process exit codes of the mip6kit command (documented in the README)."""

    PASS = 0
    TEST_FAILURE = 1  # a test failed, or the baseline/patched matrix is not as expected
    USAGE = 2  # bad command line, config file or environment
    BUILD_FAILURE = 3
    SKIP = 4  # kselftest's value: nothing could be verified
    BOOT_FAILURE = 5  # guest did not come up, died, or hit the timeout
    KERNEL_CRASH = 6  # BUG/WARNING/Oops/panic on the guest console
    HOST_FAILURE = 7  # disk full, I/O error, out of memory: the host, not the input


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout(1), a CI cancel) or SIGHUP (a closed terminal): it
    unwinds like Ctrl-C, so every guest this process started is killed on
    the way out; the exit code is 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class MipError(Exception):
    """An error with a message for the user and the exit code it maps to."""

    def __init__(self, message: str, code: Exit = Exit.USAGE):
        super().__init__(message)
        self.code = code
