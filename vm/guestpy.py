# SPDX-License-Identifier: GPL-2.0-only
"""The verifier's Python, off 9p: one tar the guest unpacks into a tmpfs.

Under TCG every file a Python import opens over the guest's 9p root costs
round trips; the verifier's imports (pytest, pyroute2, the stdlib modules
they use, the test modules) are about 540 files.  The host packs them into
one uncompressed tar; the guest reads it in one sequential stream, unpacks
it into a tmpfs, and runs Python with the tmpfs first on its path
(bootstrap()).  A module that is not in the tar is still found on 9p, after
it: the tar only makes imports faster, it never decides what imports.

What goes in: the verifier package and mip6kit/__init__.py, every file
(.py and its __pycache__ .pyc, data files) of each third-party package and
stdlib module or package that importing the whole verifier loads on the
host (probe), with the .pyc files compiled first.  The tar's name is the
hash of what it holds (each file's path, size and mtime), so an edited
test module, a pip upgrade or a new Python gives a new tar; the probe is
keyed on the verifier's sources and the installed distributions.
"""

import compileall
import hashlib
import json
import logging
import os
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

from . import resources
from .errors import Exit, MipError

log = logging.getLogger(__name__)

GUEST_ROOT = "/run/mip6kit-py"  # the guest's tmpfs
SITE, STDLIB = "site", "stdlib"  # the tar's two trees, in path order

_PROBE = r"""
import importlib, json, sys, pathlib
import pytest, _pytest.junitxml
here = pathlib.Path(sys.argv[1])
import mip6kit.verifier.guest, mip6kit.verifier.ktap
for f in sorted(here.glob("*.py")):
    importlib.import_module("mip6kit.verifier." + f.stem)
print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values())
                         if isinstance(getattr(m, "__file__", None), str)})))
"""


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def _site_dirs() -> list[Path]:
    return [Path(p).resolve() for p in sys.path if p.endswith("-packages") and Path(p).is_dir()]


def _stamp(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def probe(cache: Path) -> list[Path]:
    """The files importing the whole verifier loads (a subprocess of this
    Python), cached on the verifier's sources and the installed
    distributions."""
    verifier = resources.verifier()
    inputs = sorted(verifier.glob("*.py")) + sorted(
        d for s in _site_dirs() for d in s.glob("*.dist-info"))
    key = _stamp(inputs) + "-" + hashlib.sha256(sys.version.encode()).hexdigest()[:8]
    memo = cache / "guestpy" / f"probe-{key}.json"
    if memo.is_file():
        return [Path(p) for p in json.loads(memo.read_text())]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-c", _PROBE, str(verifier)], capture_output=True,
                         text=True, env=env, cwd="/")
    if res.returncode != 0:
        raise MipError(f"the verifier does not import on the host:\n{res.stderr[-2000:]}",
                       Exit.TEST_FAILURE)
    files = json.loads(res.stdout)
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps(files))
    return [Path(p) for p in files]


def members(files: list[Path]) -> dict[str, Path]:
    """arcname -> file: each loaded module's top-level package (or module)
    under SITE (third party, mip6kit) or STDLIB, with every file in it."""
    stdlib, sites = _stdlib(), _site_dirs()
    verifier = resources.verifier().resolve()
    package = Path(resources.__file__).resolve().parent  # mip6kit (vm/)
    roots: dict[Path, str] = {verifier: f"{SITE}/mip6kit/verifier"}
    out = {f"{SITE}/mip6kit/__init__.py": package / "__init__.py"}
    for f in files:
        f = f.resolve()
        for base, tree in [(stdlib, STDLIB), *((s, SITE) for s in sites)]:
            if f.is_relative_to(base) and f.parent != base / "lib-dynload":
                top = base / f.relative_to(base).parts[0]
                if top.name not in ("site-packages", "dist-packages"):
                    roots.setdefault(top, f"{tree}/{top.name}")
                break
    for root, arc in roots.items():
        if root.is_file():
            out[arc] = root
            pyc = root.parent / "__pycache__"
            for c in pyc.glob(f"{root.stem}.{sys.implementation.cache_tag}.pyc"):
                out[f"{Path(arc).parent}/__pycache__/{c.name}"] = c
            continue
        for f in root.rglob("*"):
            if f.is_file() and not f.name.endswith((".opt-1.pyc", ".opt-2.pyc")) \
                    and "/tests/" not in f"/{f.relative_to(root)}/":
                out[f"{arc}/{f.relative_to(root)}"] = f
    return out


def bundle(cache: Path) -> Path:
    """The tar of the verifier's Python (built when its contents changed)."""
    files = probe(cache)
    verifier = resources.verifier()
    compileall.compile_dir(str(verifier), quiet=1, maxlevels=0)  # the guest must not
    arcs = members(files)
    tar = cache / "guestpy" / f"py-{_stamp(list(arcs.values()))}.tar"
    if tar.is_file():
        return tar
    tmp = tar.with_name(f".{tar.name}.{os.getpid()}")
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as t:
        for arc, f in sorted(arcs.items()):
            t.add(f, arcname=arc, recursive=False)
    tmp.replace(tar)
    log.info("guest Python: %s (%d files, %.1f MB)", tar.name, len(arcs),
             tar.stat().st_size / 1e6)
    prune(tar.parent)
    return tar


KEEP = 3  # tars (and probes) kept: each edit of the verifier makes a new one


def prune(folder: Path) -> None:
    """Drop all but the KEEP newest tars and probes (a run that still uses
    an older tar has it open, or unpacked in its guest, already)."""
    for pattern in ("py-*.tar", "probe-*.json"):
        old = sorted(folder.glob(pattern), key=lambda f: f.stat().st_mtime)[:-KEEP]
        for f in old:
            f.unlink(missing_ok=True)


PYTHONPATH = f"{GUEST_ROOT}/{SITE}:{GUEST_ROOT}/{STDLIB}"  # the guest's, after unpack()


def unpack(tar: str) -> str:
    """The guest's shell command that unpacks tar into a new tmpfs."""
    return (f"mkdir -p {GUEST_ROOT} && mount -t tmpfs -o mode=0755 mip6kit-py {GUEST_ROOT} "
            f"&& tar -xf {tar} -C {GUEST_ROOT}")


def bootstrap(tar: Path, argv: list[str]) -> list[str]:
    """The guest command that unpacks tar into a tmpfs and runs argv (a
    python -m ... command line) with the tmpfs first on Python's path."""
    script = f"{unpack(str(tar))} && PYTHONPATH={PYTHONPATH} exec \"$@\""
    return ["sh", "-c", script, "mip6kit-py", *argv]
