# SPDX-License-Identifier: GPL-2.0-only
"""Exit codes and the one exception type that carries them to the CLI."""

import textwrap
from enum import IntEnum


class Exit(IntEnum):
    """Process exit codes of the mip6kit command: MEANINGS says what each
    means, and the --help epilog and the README's table are made from it."""

    PASS = 0
    TEST_FAILURE = 1
    USAGE = 2
    BUILD_FAILURE = 3
    SKIP = 4  # kselftest's value
    BOOT_FAILURE = 5
    KERNEL_CRASH = 6
    HOST_FAILURE = 7


SIGNAL_CODES = {129: "hangup (SIGHUP: the terminal closed)", 130: "interrupted (Ctrl-C)",
                143: "terminated (SIGTERM, e.g. `timeout(1)` or a CI cancel)"}

MEANINGS = {
    Exit.PASS: "pass",
    Exit.TEST_FAILURE: "test failure, or the matrix is not as expected",
    Exit.USAGE: "usage error: bad option, config file, tree, series file, test selection, "
                "or a missing host tool (rsync, patch, make, vng)",
    Exit.BUILD_FAILURE: "build failure: the series does not apply, the config dropped a "
                        "symbol, make failed",
    Exit.SKIP: "skip: every test was skipped, nothing was verified",
    Exit.BOOT_FAILURE: "boot failure or timeout (virtme-ng's 255: the guest died)",
    Exit.KERNEL_CRASH: "kernel crash: a splat on the guest console (verifier/splat.py); "
                       "the trace is kept in `crash.txt`",
    Exit.HOST_FAILURE: "host failure: disk full, I/O error, out of memory or a read-only "
                       "file system (`ENOSPC`, `EDQUOT`, `EIO`, `ENOMEM`, `EROFS`)",
}


def exit_codes() -> list[tuple[int, str]]:
    """(code, meaning) for every code mip6kit exits with."""
    return [(int(c), MEANINGS[c]) for c in Exit] + list(SIGNAL_CODES.items())


def exit_code_table() -> str:
    """The README's Markdown table (a host test keeps the README's copy equal)."""
    rows = "".join(f"| {code} | {text} |\n" for code, text in exit_codes())
    return "| code | meaning |\n|---|---|\n" + rows


def exit_code_epilog() -> str:
    """The --help epilog's list."""
    lines = ["exit codes:"]
    for code, text in exit_codes():
        wrapped = textwrap.wrap(text.replace("`", ""), 72)
        lines.append(f"  {code:<3} {wrapped[0]}")
        lines += [f"      {w}" for w in wrapped[1:]]
    return "\n".join(lines) + "\n"


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
