# SPDX-License-Identifier: GPL-2.0-only
import subprocess
import sys
from pathlib import Path

import pytest

from mip6kit.cache import cache_root
from mip6kit.tree import DEBIAN_BASES

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: boots a real kernel under virtme-ng (slow)")
    # the verifier's guard marker, seen when a host test imports a verifier module
    config.addinivalue_line("markers", "patch(name): the series patch a verifier test guards")


@pytest.fixture
def fake_linux():
    """Make the smallest tree mip6kit accepts as Linux 6.12.117 at a path."""
    def make(root: Path) -> Path:
        (root / "net/ipv6").mkdir(parents=True)
        (root / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\n")
        (root / "net/ipv6/raw.c").write_text("int raw;\n")
        return root
    return make


@pytest.fixture
def cli():
    """Run the mip6kit CLI as a user would; returns CompletedProcess."""
    def run(*args, env=None, timeout=1800):
        return subprocess.run([sys.executable, "-m", "mip6kit", *args], capture_output=True,
                              text=True, env=env, timeout=timeout, cwd=ROOT)
    return run


@pytest.fixture(params=list(DEBIAN_BASES))
def debian_source(request) -> Path:
    """The extracted linux-source-X tree of each base in the cache."""
    src = cache_root() / f"sources/linux-source-{request.param}"
    if not (src / "Makefile").is_file():
        pytest.fail(f"{src} missing: run `mip6kit run --base {request.param}` first, "
                    "which extracts it")
    return src


def _descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below pid."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = ppid
    found, frontier = {}, {pid}
    while frontier:
        frontier = {child for child, ppid in parents.items() if ppid in frontier}
        for child in frontier:
            try:
                found[child] = (Path(f"/proc/{child}/cmdline").read_bytes()
                                .replace(b"\0", b" ").decode())
            except OSError:
                pass
    return found


@pytest.fixture
def descendants():
    """pid -> {pid: command line} of the processes below it: a test finds the
    qemu of the mip6kit it started, never another run's (no pkill -f)."""
    return _descendants
