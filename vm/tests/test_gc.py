# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit gc`: the newest runs and the most recently used build dirs stay;
a work dir that another run holds is left alone; --dry-run removes nothing."""

import os
from pathlib import Path

from mip6kit.build import BUILT_STAMP
from mip6kit.cache import Lock


def _cache(root: Path) -> dict[str, Path]:
    made = {}
    for age, name in enumerate(["run-new", "run-mid", "run-old"]):
        d = root / "runs" / name
        d.mkdir(parents=True)
        (d / "run.log").write_text("x" * 1000)
        os.utime(d, (1e9 - age * 1000, 1e9 - age * 1000))
        made[name] = d
    for tree in ("work/a", "work/b"):
        for age, cfg in enumerate(["new", "mid", "old"]):
            d = root / tree / "src-baseline" / f".mip6kit-build-{cfg}"
            d.mkdir(parents=True)
            (d / "vmlinux").write_bytes(b"\0" * 4096)
            (d / BUILT_STAMP).write_text("k")
            os.utime(d / BUILT_STAMP, (1e9 - age * 1000, 1e9 - age * 1000))
            made[f"{tree}/{cfg}"] = d
    return made


def test_gc_keeps_the_newest(cli, tmp_path):
    cache = tmp_path / "cache"
    made = _cache(cache)
    env = {"MIP6KIT_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    res = cli("--dry-run", "gc", "--keep", "2", env=env)
    assert res.returncode == 0, res.stderr
    assert "3 directories, would free" in res.stdout
    assert all(d.exists() for d in made.values()), "--dry-run removed something"

    with Lock(cache / "work/b/lock"):
        res = cli("gc", "--keep", "2", env=env)
    assert res.returncode == 0, res.stderr
    assert "in use by another mip6kit run" in res.stderr
    gone = {k for k, d in made.items() if not d.exists()}
    assert gone == {"run-old", "work/a/old"}, gone

    res = cli("gc", "--keep", "1", env=env)
    gone = {k for k, d in made.items() if not d.exists()}
    assert gone == {"run-old", "run-mid", "work/a/old", "work/a/mid", "work/b/old",
                    "work/b/mid"}, gone
    assert "4 directories, freed" in res.stdout


def test_gc_rejects_keep_zero(cli, tmp_path):
    res = cli("gc", "--keep", "0", env={"MIP6KIT_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2 and "--keep must be at least 1" in res.stderr
