# SPDX-License-Identifier: GPL-2.0-only
"""What the guest reads from debugfs for the host: gcov counters (the
coverage profile) and kmemleak reports (the debug profile).

Both are absent on a kernel built without them; every function then does
nothing, so the lean kernels run exactly as before.
"""

import gzip
import io
import os
import re
import tarfile
import time
from pathlib import Path

from .cmd import cmd

DEBUGFS = Path("/sys/kernel/debug")
GCOV = DEBUGFS / "gcov"
KMEMLEAK = DEBUGFS / "kmemleak"
# kmemleak reports an object only once it is older than 5 s (MSECS_MIN_AGE)
SCAN_GAP = 6.0
MAX_SCANS = 5
_JIFFIES = re.compile(r"jiffies (\d+)")
CONFIG_GZ = Path("/proc/config.gz")


def mount() -> None:
    if DEBUGFS.is_dir() and not os.path.ismount(DEBUGFS):
        cmd(["mount", "-t", "debugfs", "debugfs", str(DEBUGFS)], check=False)


def gcov_reset() -> bool:
    """Zero every counter (boot has run some of the lines); False without gcov."""
    if not (GCOV / "reset").exists():
        return False
    (GCOV / "reset").write_text("1")
    return True


def gcov_tar() -> bytes | None:
    """A tar of every .gcda under debugfs's gcov directory, named by its path
    there (the build dir's absolute path, then the object's), or None."""
    if not GCOV.is_dir():
        return None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for f in sorted(GCOV.rglob("*.gcda")):
            data = f.read_bytes()  # debugfs says size 0: read, then size the entry
            info = tarfile.TarInfo(str(f.relative_to(GCOV)))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def kmemleak_start() -> bool:
    """Forget what boot left behind and stop the periodic scan (the guest
    scans when the tests are over); False without kmemleak."""
    if not KMEMLEAK.exists():
        return False
    for request in ("scan=off", "clear"):
        KMEMLEAK.write_text(request)
    return True


def hz() -> int | None:
    """CONFIG_HZ of the running kernel (/proc/config.gz), or None."""
    try:
        with gzip.open(CONFIG_GZ, "rt") as f:
            m = re.search(r"(?m)^CONFIG_HZ=(\d+)$", f.read())
    except OSError:
        return None
    return int(m.group(1)) if m else None


def seconds_since_boot(jiffies: int, hz: int) -> float:
    """When kmemleak's jiffies stamp was, on CLOCK_MONOTONIC (which starts
    at boot, as jiffies does, from INITIAL_JIFFIES: 2^32 - 300 s of ticks
    on a 64-bit kernel)."""
    return (jiffies - (2**32 - 300 * hz)) / hz


def kmemleak_scan(gap: float = SCAN_GAP, max_scans: int = MAX_SCANS) -> list[tuple[int, str]]:
    """Scan until two scans gap seconds apart report the same objects
    (a namespace's asynchronous cleanup frees its last objects late);
    [(jiffies at the allocation, the object's report)]."""
    last: list[tuple[int, str]] | None = None
    for _ in range(max_scans):
        time.sleep(gap)
        KMEMLEAK.write_text("scan")
        found = parse(KMEMLEAK.read_text())
        if last is not None and _objects(found) == _objects(last):
            return found
        last = found
    return last or []


def _objects(found: list[tuple[int, str]]) -> list[str]:
    """The objects' first lines (address and size)."""
    return [r.split("\n", 1)[0] for _, r in found]


def parse(text: str) -> list[tuple[int, str]]:
    """Split kmemleak's report into its objects (each starts with
    'unreferenced object'), with the jiffies of the allocation."""
    blocks = re.split(r"(?m)^(?=unreferenced object )", text)
    out = []
    for block in blocks:
        if not block.startswith("unreferenced object"):
            continue
        m = _JIFFIES.search(block)
        out.append((int(m.group(1)) if m else 0, block.rstrip()))
    return out
