# SPDX-License-Identifier: GPL-2.0-only
"""What the guest reads from debugfs for the host: gcov counters (the
coverage profile) and kmemleak reports (the debug profile).

Both are absent on a kernel built without them; every function then does
nothing, so the lean kernels run exactly as before.
"""

import io
import os
import re
import subprocess
import tarfile
import time
from pathlib import Path

DEBUGFS = Path("/sys/kernel/debug")
GCOV = DEBUGFS / "gcov"
KMEMLEAK = DEBUGFS / "kmemleak"
# kmemleak reports an object only once it is older than 5 s (MSECS_MIN_AGE)
SCAN_GAP = 6.0
MAX_SCANS = 5
_AGE = re.compile(r"\(age (\d+)\.(\d+)s\)")


def mount() -> None:
    if DEBUGFS.is_dir() and not os.path.ismount(DEBUGFS):
        subprocess.run(["mount", "-t", "debugfs", "debugfs", str(DEBUGFS)],
                       capture_output=True)


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
    for cmd in ("scan=off", "clear"):
        KMEMLEAK.write_text(cmd)
    return True


def kmemleak_scan(gap: float = SCAN_GAP, max_scans: int = MAX_SCANS) -> list[tuple[float, str]]:
    """Scan until two scans gap seconds apart report the same objects
    (a namespace's asynchronous cleanup frees its last objects late);
    [(seconds since the allocation, the object's report)]."""
    last: list[tuple[float, str]] | None = None
    for _ in range(max_scans):
        time.sleep(gap)
        KMEMLEAK.write_text("scan")
        found = _parse(KMEMLEAK.read_text())
        if last is not None and _objects(found) == _objects(last):
            return found
        last = found
    return last or []


def _objects(found: list[tuple[float, str]]) -> list[str]:
    """The objects' addresses (the ages change from scan to scan)."""
    return [r.split("(", 1)[0] for _, r in found]


def _parse(text: str) -> list[tuple[float, str]]:
    """Split kmemleak's report into its objects (each starts with
    'unreferenced object'); the age is read from the first line."""
    blocks = re.split(r"(?m)^(?=unreferenced object )", text)
    out = []
    for block in blocks:
        if not block.startswith("unreferenced object"):
            continue
        m = _AGE.search(block)
        age = float(f"{m.group(1)}.{m.group(2)}") if m else 0.0
        out.append((age, block.rstrip()))
    return out
