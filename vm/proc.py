# SPDX-License-Identifier: GPL-2.0-only
"""Every host process mip6kit starts goes through a Runner.

  run(argv)               wait for it; capture its output or send it to a log
  stream(argv, on_line)   wait for it; hand each line of its output to on_line
  spawn(argv)             a context manager around a long-lived child (a guest)

A Runner owns three things that would otherwise be repeated at each call:
- dry-run: the command is printed, by the same code path, instead of run;
  only a query (query=True: reads state, changes nothing) runs in a dry run;
- errors: a missing program and a failed command become a MipError with
  the exit code the caller names (Exit.USAGE unless it says otherwise);
- the kill-all registry: stream() and spawn() children get their own
  process group, and kill_all() (Ctrl-C, SIGTERM, a failed sibling guest)
  kills every group that is still running and lets no new one start.
"""

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import Exit, MipError

log = logging.getLogger(__name__)

# process groups started by stream() and spawn(), with the signal that stops each
_live: dict[subprocess.Popen, int] = {}
_lock = threading.Lock()
_stopping = False


def kill_all() -> None:
    """Kill every process group this process started and start no new one."""
    global _stopping
    with _lock:
        _stopping = True
        procs = list(_live.items())
    for proc, signum in procs:
        kill(proc, signum)


def kill(proc: subprocess.Popen, signum: int = signal.SIGKILL) -> None:
    """Signal a spawn()ed child's process group and reap the child."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)
    proc.wait()


def _missing(argv: list[str], hint: str) -> MipError:
    return MipError(f"{argv[0]}: command not found; {hint}", Exit.USAGE)


SETUP_HINT = "run scripts/setup.sh to install the host packages"
PIPE, STDOUT = subprocess.PIPE, subprocess.STDOUT  # for spawn()'s callers
TimeoutExpired = subprocess.TimeoutExpired


class Runner:
    """Runs commands, or only prints them with --dry-run."""

    def __init__(self, dry_run: bool = False):
        self.dry_run = dry_run

    def _skip(self, argv: list[str], cwd: Path | None, query: bool) -> bool:
        """Log the command; in a dry run print it and say it must not run."""
        where = f" (in {cwd})" if cwd else ""
        log.debug("run: %s%s", shlex.join(argv), where)
        if self.dry_run and not query:
            print(shlex.join(argv) + where, flush=True)
            return True
        return False

    def run(self, argv: list[str], *, cwd: Path | None = None, env: dict | None = None,
            check: bool = True, capture: bool = False, logfile=None,
            input: str | None = None, timeout: float | None = None,
            code: Exit = Exit.USAGE, query: bool = False,
            hint: str = SETUP_HINT) -> subprocess.CompletedProcess:
        """Run argv to its end.  capture=True returns its stdout and stderr
        as text; logfile (an open file) takes both otherwise; else they go
        to ours.  check=True turns a non-zero exit into MipError(code),
        with the end of stderr when captured."""
        if self._skip(argv, cwd, query):
            return subprocess.CompletedProcess(argv, 0, "", "")
        streams = {"capture_output": True} if capture else \
            {"stdout": logfile, "stderr": subprocess.STDOUT if logfile else None}
        try:
            res = subprocess.run(argv, cwd=cwd, env=env, text=True, errors="replace",
                                 timeout=timeout,
                                 input=input,
                                 stdin=None if input is not None else subprocess.DEVNULL,
                                 **streams)
        except FileNotFoundError as e:
            raise _missing(argv, hint) from e
        except subprocess.TimeoutExpired as e:
            raise MipError(f"{shlex.join(argv)} did not end within {timeout:g} s",
                           code) from e
        if check and res.returncode != 0:
            detail = (res.stderr or "").strip()[-2000:] if capture else ""
            raise MipError(f"command failed with exit {res.returncode}: {shlex.join(argv)}"
                           + (f"\n{detail}" if detail else ""), code)
        return res

    def stream(self, argv: list[str], on_line: Callable[[str], None], *,
               cwd: Path | None = None, env: dict | None = None,
               hint: str = SETUP_HINT, stop: int = signal.SIGTERM) -> int:
        """Run argv to its end, its stdout and stderr (merged, as text) handed
        to on_line line by line as they come; returns its exit code.  An
        interrupted child gets SIGTERM, so that make deletes the targets it
        was writing (a SIGKILLed make can leave a truncated .o that looks
        newer than its source)."""
        if self._skip(argv, cwd, False):
            return 0
        with self.spawn(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, errors="replace",
                        hint=hint, stop=stop) as proc:
            assert proc is not None and proc.stdout is not None
            for line in proc.stdout:
                on_line(line)
            return proc.wait()

    @contextlib.contextmanager
    def spawn(self, argv: list[str], *, hint: str = SETUP_HINT,
              stop: int = signal.SIGKILL, **popen) -> Iterator[subprocess.Popen | None]:
        """Start argv in its own process group (stdin /dev/null unless given)
        and yield it: None in a dry run (the command is printed).  The group
        gets signal stop when the block raises (Ctrl-C, SIGTERM, an error) or
        from kill_all(); MipError(USAGE) if kill_all() ran already.  stop is
        SIGTERM for a child that must clean up after itself (a mip6kit that
        runs guests in sessions of their own)."""
        if self._skip(argv, popen.get("cwd"), False):
            yield None
            return
        popen.setdefault("stdin", subprocess.DEVNULL)
        with _lock:
            if _stopping:
                raise MipError(f"stopping: not starting {argv[0]}", Exit.USAGE)
            try:
                proc = subprocess.Popen(argv, start_new_session=True, **popen)
            except FileNotFoundError as e:
                raise _missing(argv, hint) from e
            _live[proc] = stop
        try:
            yield proc
        except BaseException:
            kill(proc, stop)
            raise
        finally:  # stdout is left open: a caller's thread may still be reading it
            with _lock:
                _live.pop(proc, None)


def resume() -> None:
    """Allow new children again after kill_all(): the CLI's main() starts
    with it, so that a caller that runs main() twice is not left stopped."""
    global _stopping
    with _lock:
        _stopping = False
