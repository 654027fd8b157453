# SPDX-License-Identifier: GPL-2.0-only
"""Every process the verifier starts in the guest goes through here, as
kselftest's lib/py utils.cmd does: one place that captures, checks and
names the namespace.

  cmd(argv, ns="mn")          ip netns exec mn ARGV, output captured as text
  cmd(argv, check=False)      the caller reads returncode
  stream(argv, on_line)       each output line as it comes (kselftest.py)

A failed check raises CmdError (an AssertionError, so pytest reports it as
a test failure with the command, the namespace and stderr)."""

import subprocess
from collections.abc import Callable
from pathlib import Path

CompletedProcess = subprocess.CompletedProcess


class CmdError(AssertionError):
    def __init__(self, argv: list[str], ns: str | None, res: CompletedProcess):
        where = f" in netns {ns}" if ns else ""
        err = res.stderr.strip() if isinstance(res.stderr, str) else \
            (res.stderr or b"").decode(errors="replace").strip()
        super().__init__(f"{' '.join(map(str, argv))}{where} failed ({res.returncode}): {err}")
        self.res = res


def cmd(argv: list[str], *, ns: str | None = None, check: bool = True,
        input: str | bytes | None = None, timeout: float | None = None,
        cwd: Path | None = None, env: dict | None = None,
        text: bool = True) -> CompletedProcess:
    """Run argv (in netns ns) to its end with its output captured."""
    full = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    res = subprocess.run(full, input=input, capture_output=True, text=text,
                         timeout=timeout, cwd=cwd, env=env,
                         stdin=None if input is not None else subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise CmdError(argv, ns, res)
    return res


def stream(argv: list[str], on_line: Callable[[str], None], *, cwd: Path | None = None,
           env: dict | None = None) -> int:
    """Run argv to its end, its stdout and stderr handed to on_line line by
    line as they come; its exit code."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            errors="replace")
    with proc:
        for line in proc.stdout:
            on_line(line)
        return proc.wait()
