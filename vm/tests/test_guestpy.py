# SPDX-License-Identifier: GPL-2.0-only
"""The verifier's Python as one tar for the guest (vm/guestpy.py)."""

import os
import subprocess
import sys
import tarfile

from mip6kit import guestpy, resources


def test_the_tar_holds_what_the_verifier_imports(tmp_path):
    tar = guestpy.bundle(tmp_path)
    names = set(tarfile.open(tar).getnames())
    for must in ("site/mip6kit/__init__.py", "site/mip6kit/verifier/guest.py",
                 "site/mip6kit/verifier/test_hao_checksum.py", "site/pytest/__init__.py",
                 "site/_pytest/python.py", "site/pyroute2/__init__.py",
                 "stdlib/asyncio/__init__.py"):
        assert must in names, must
    assert not any("lib-dynload" in n or n.endswith(".so") and n.startswith("stdlib/")
                   for n in names)
    assert guestpy.bundle(tmp_path) == tar  # unchanged inputs: the same tar, not rebuilt


def test_an_edited_module_makes_a_new_tar(tmp_path):
    """The tar's name is the hash of its files' paths, sizes and mtimes."""
    probe = tmp_path / "probe.py"
    probe.write_text("x = 1\n")
    before = guestpy._stamp([probe])
    probe.write_text("x = 22\n")
    assert guestpy._stamp([probe]) != before
    st = probe.stat()
    os.utime(probe, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # same size, new mtime
    assert guestpy._stamp([probe]) != before


def test_python_runs_from_the_unpacked_tar(tmp_path):
    """What the guest does, on the host: unpack, put it first on the path,
    import the verifier from there (not from the checkout)."""
    tar = guestpy.bundle(tmp_path / "cache")
    root = tmp_path / "py"
    root.mkdir()
    tarfile.open(tar).extractall(root)
    env = dict(os.environ, PYTHONPATH=f"{root}/{guestpy.SITE}:{root}/{guestpy.STDLIB}")
    res = subprocess.run([sys.executable, "-c", "import pytest, asyncio, "
                          "mip6kit.verifier.test_hao_checksum as m; print(m.__file__); "
                          "print(pytest.__file__); print(asyncio.__file__)"],
                         env=env, capture_output=True, text=True, cwd="/")
    assert res.returncode == 0, res.stderr
    assert all(line.startswith(str(root)) for line in res.stdout.split()), res.stdout
    assert str(resources.verifier()) not in res.stdout


def test_bootstrap_unpacks_into_a_tmpfs_then_runs_the_command():
    argv = guestpy.bootstrap(guestpy.Path("/c/py-1.tar"), ["env", "A=1", "python3", "-m", "x"])
    assert argv[:2] == ["sh", "-c"] and argv[3:] == ["mip6kit-py", "env", "A=1", "python3",
                                                     "-m", "x"]
    assert "mount -t tmpfs" in argv[2] and "tar -xf /c/py-1.tar" in argv[2]
    assert 'exec "$@"' in argv[2]


def test_old_tars_are_pruned(tmp_path):
    for i in range(5):
        f = tmp_path / f"py-{i}.tar"
        f.write_text("x")
        os.utime(f, (1000 + i, 1000 + i))
    guestpy.prune(tmp_path)
    assert sorted(f.name for f in tmp_path.glob("py-*.tar")) == ["py-2.tar", "py-3.tar",
                                                                  "py-4.tar"]
