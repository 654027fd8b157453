# SPDX-License-Identifier: GPL-2.0-only
"""Running external commands: argv lists, logged, with dry-run support."""

import logging
import shlex
import subprocess
from pathlib import Path

from .errors import Exit, MipError

log = logging.getLogger(__name__)


class Runner:
    """Runs commands, or only prints them with --dry-run."""

    def __init__(self, dry_run: bool = False):
        self.dry_run = dry_run

    def run(self, argv: list[str], *, cwd: Path | None = None, env: dict | None = None,
            check: bool = True, capture: bool = False, logfile=None,
            code: Exit = Exit.USAGE) -> subprocess.CompletedProcess:
        where = f" (in {cwd})" if cwd else ""
        log.debug("run: %s%s", shlex.join(argv), where)
        if self.dry_run:
            print(shlex.join(argv) + where)
            return subprocess.CompletedProcess(argv, 0, "", "")
        try:
            if capture:
                res = subprocess.run(argv, cwd=cwd, env=env, text=True, capture_output=True)
            else:
                res = subprocess.run(argv, cwd=cwd, env=env, stdout=logfile,
                                     stderr=subprocess.STDOUT if logfile else None,
                                     stdin=subprocess.DEVNULL)
        except FileNotFoundError as e:
            raise MipError(f"{argv[0]}: command not found; run scripts/setup.sh "
                           "to install the host packages", Exit.USAGE) from e
        if check and res.returncode != 0:
            detail = (res.stderr or "").strip() if capture else ""
            raise MipError(f"command failed with exit {res.returncode}: {shlex.join(argv)}"
                           + (f"\n{detail}" if detail else ""), code)
        return res
