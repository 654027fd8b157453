# SPDX-License-Identifier: GPL-2.0-only
"""The cache directory: extracted sources, scratch trees, builds, ccache, runs.

Layout under $MIP6KIT_CACHE (default ~/.cache/mip6kit):
  sources/linux-source-6.12/     Debian's tarball, extracted once
  sources/linux-source-6.12.lock held while it is copied from or replaced
  work/<tree-key>/src-<variant>/ scratch copy per variant (baseline, patched)
  work/<tree-key>/src-<variant>/.mip6kit-build-<config-hash>/  build dir (O=)
  work/<tree-key>/lock           held while a run uses those scratch copies
  ccache/                        CCACHE_DIR
  runs/<stamp>-<tree>/           one directory per run (logs and results)
"""

import errno
import fcntl
import hashlib
import logging
import os
from pathlib import Path

from .errors import MipError

log = logging.getLogger(__name__)


def cache_root() -> Path:
    env = os.environ.get("MIP6KIT_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser().resolve() / "mip6kit"


def short_hash(data: bytes | str, n: int = 8) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()[:n]


def tree_key(path: Path) -> str:
    real = path.resolve()
    return f"{real.name}-{short_hash(str(real))}"


class Lock:
    """An exclusive flock on a file.  By default a second mip6kit on the same
    tree fails fast; with wait=True it blocks until the holder is done."""

    def __init__(self, path: Path, wait: bool = False):
        self.path = path
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if self.wait and e.errno in (errno.EAGAIN, errno.EACCES):
                log.info("waiting for another mip6kit run that holds %s", self.path)
                fcntl.flock(self.fd, fcntl.LOCK_EX)
                return self
            os.close(self.fd)
            self.fd = None
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise MipError(f"another mip6kit run holds {self.path}; wait for it, "
                               "or set MIP6KIT_CACHE to a different directory") from e
            raise
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
