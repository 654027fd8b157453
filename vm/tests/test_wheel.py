# SPDX-License-Identifier: GPL-2.0-only
"""A wheel works outside the checkout: the series, the overlay, the
profiles and the verifier travel as package data (vm/resources.py).

The wheel is built offline (--no-build-isolation, with the dev extra's
setuptools and wheel) and installed without dependencies into a fresh venv
in a temporary directory; the third-party dependencies come from this
venv's site-packages through a .pth file, which does not run this venv's
editable-install hook, so every mip6kit file the commands read is the
wheel's."""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin directory of a fresh venv holding the wheel of this checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    # from a copy of the checkout's files: setuptools would reuse a stale build/
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp / "dist"), str(source)],
                   check=True, capture_output=True, text=True, cwd=tmp)
    wheels = list((tmp / "dist").glob("mip6kit-*.whl"))
    assert len(wheels) == 1, wheels
    _assert_modules_are_the_sources(wheels[0])
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")],
                   check=True)
    venv_python = tmp / "venv/bin/python"
    purelib = subprocess.run([str(venv_python), "-c",
                              "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", purelib, str(wheels[0])], check=True, capture_output=True)
    (Path(purelib) / "mip6kit-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return tmp / "venv/bin"


def _assert_modules_are_the_sources(wheel: Path) -> None:
    """The wheel's modules are exactly vm/*.py and verifier/*.py (no tests,
    nothing stale), and it carries every patch of the series."""
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n for n in names if n.endswith(".py")}
    sources = {f"mip6kit/{p.name}" for p in (ROOT / "vm").glob("*.py")} | \
        {f"mip6kit/verifier/{p.name}" for p in (ROOT / "verifier").glob("*.py")}
    assert shipped == sources, shipped ^ sources
    patches = {str(p.relative_to(ROOT)) for p in (ROOT / "patches").rglob("*")
               if p.is_file()}
    assert {f"mip6kit/{p}" for p in patches} <= set(names)


def _mip6kit(bindir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # vng: a dependency's script, in this venv's bin (pipx would have it in its own)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run([str(bindir / "python"), "-m", "mip6kit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_installed_package_is_the_wheels(installed, tmp_path):
    res = subprocess.run([str(installed / "python"), "-c",
                          "import mip6kit, mip6kit.resources as r; "
                          "print(mip6kit.__file__); print(r.patches()); print(r.checkout())"],
                         capture_output=True, text=True, cwd=tmp_path, check=True)
    package, patches, checkout = res.stdout.splitlines()
    assert not Path(package).is_relative_to(ROOT), package
    assert Path(patches).is_relative_to(Path(package).parent), patches
    assert checkout == "None"


def test_export_from_the_wheel(installed, tmp_path):
    res = _mip6kit(installed, "export", "--format", "quilt", "-o", str(tmp_path / "q"),
                   cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    series = (tmp_path / "q/series").read_text().split()
    assert len(series) == len(list((tmp_path / "q").glob("*.patch"))) > 5


def test_run_dry_run_from_the_wheel(installed, tmp_path):
    """Resolves the tree, the series and the verifier from the wheel (and
    nothing from this checkout); prints the commands, runs none of them."""
    res = _mip6kit(installed, "--dry-run", "run", "--base", "6.12", "-k", "test_addr_flags",
                   cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "vng" in res.stdout and "mip6kit.verifier.guest" in res.stdout, res.stdout
    wheel = str(installed.parent)
    assert f"-i {wheel}" in res.stdout and "/site-packages/mip6kit/patches/6.12/" in res.stdout
    assert "--skip-modules=test_selftest.py" in res.stdout  # by name: the guest unpacks it
    assert str(ROOT) not in res.stdout.replace(str(Path(sys.executable).parent), "")
