# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit export`: each format applies to the Debian tree of its base, in
a scratch copy of the files the series touches (quilt push -a for quilt and
debian, patch -p1 in PatchNNNN order for rpm)."""

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from mip6kit import export, resources, scratch, tree
from mip6kit.cache import cache_root
from mip6kit.cli import main
from mip6kit.proc import Runner
from mip6kit.tree import DEBIAN_BASES

BASES = tuple(DEBIAN_BASES)


def scratch_copy(base: str, dest: Path) -> Path:
    """The pristine files the series patches, copied out of the Debian
    source tree (extracted into the cache on first use)."""
    origin = tree.debian_source(base, cache_root(), Runner(False))
    series = tree.read_series(resources.patches() / base)
    for rel in scratch.touched_paths(series):
        if (origin / rel).is_file():  # not a file the series creates
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin / rel, dest / rel)
    return dest


def apply(fmt: str, out: Path, work: Path) -> subprocess.CompletedProcess:
    if fmt == "rpm":
        names = re.findall(r"^Patch\d+: (\S+)$", (out / "patches.spec").read_text(), re.M)
        script = "".join(f"patch -p1 --batch < {out / n} &&\n" for n in names) + "true"
        return subprocess.run(["sh", "-ec", script], cwd=work, capture_output=True, text=True)
    patches, series = ((out, "series") if fmt == "quilt"
                       else (out / "debian/patches", "series.mip6kit"))
    env = {**os.environ, "QUILT_PATCHES": str(patches), "QUILT_SERIES": series}
    return subprocess.run(["quilt", "push", "-a"], cwd=work, env=env, capture_output=True,
                          text=True)


@pytest.mark.parametrize("fmt", [*export.FORMATS, "debian-kernel"])
@pytest.mark.parametrize("base", BASES)
def test_export_applies_to_debian_tree(tmp_path, capsys, base, fmt):
    if fmt != "rpm":
        assert shutil.which("quilt"), "quilt is missing: apt-get install quilt (scripts/setup.sh)"
    out = tmp_path / "out"
    how = ["--format", "debian", "--layout", "debian-kernel"] if fmt == "debian-kernel" \
        else ["--format", fmt]
    assert main(["-q", "export", *how, "--base", base, "-o", str(out)]) == 0
    written = capsys.readouterr().out.split()
    assert written and all(Path(w).is_file() for w in written)
    work = scratch_copy(base, tmp_path / "tree")
    res = apply(fmt, out, work)
    assert res.returncode == 0, f"{fmt} export does not apply to {base}:\n{res.stdout}{res.stderr}"
    uapi = (work / "include/uapi/linux/xfrm.h").read_text()
    assert "XFRMA_HOADDR = 42" in uapi, "the series did not land"


def test_debian_export_has_dep3_headers(tmp_path):
    out = tmp_path / "out"
    export.export("debian", resources.patches() / "6.1", out)
    raw = next(p for p in (out / "debian/patches/mip6kit").iterdir() if "ipv6-raw" in p.name)
    assert raw.name.startswith("net-next-"), f"{raw.name}: the tree belongs in the name"
    head = raw.read_text().split("\n---\n", 1)[0]
    for field in ("Description: ipv6: raw: use the home address", "Author: ",
                  "Origin: other, mip6kit patches/6.1/net-next/0001-", "Forwarded: no",
                  "Last-Update: 20"):
        assert f"\n{field}" in f"\n{head}", f"DEP-3 field {field!r} missing:\n{head}"
    assert "\n .\n" in head, "empty description lines must be ' .' (DEP-3 folding)"


def test_export_never_overwrites(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine").write_text("keep")
    assert main(["-q", "export", "--format", "quilt", "-o", str(out)]) == 2
    assert (out / "mine").read_text() == "keep" and len(list(out.iterdir())) == 1


def test_malformed_patch_is_a_clear_error(tmp_path):
    series = tmp_path / "s"
    series.mkdir()
    (series / "series").write_text("0001-x.patch\n")
    (series / "0001-x.patch").write_text("not a patch\n")
    with pytest.raises(export.MipError, match="not a git format-patch file"):
        export.export("quilt", series, tmp_path / "out")


def test_full_disk_is_a_host_failure(tmp_path, cli):
    """ENOSPC is the host's fault, not a usage error: exit 7, with the reason."""
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tiny", str(full)], check=True)
    try:
        res = cli("-q", "export", "--format", "quilt", "-o", str(full / "out"))
        assert res.returncode == 7, res.stderr
        assert "No space left on device" in res.stderr and "Traceback" not in res.stderr
    finally:
        subprocess.run(["umount", str(full)], check=True)


def test_main_gives_sigterm_back(tmp_path):
    """main() used as a library leaves the caller's SIGTERM handler in place."""
    before = signal.getsignal(signal.SIGTERM)
    main(["-q", "export", "--format", "quilt", "-o", str(tmp_path / "out")])
    assert signal.getsignal(signal.SIGTERM) is before


def test_dry_run_export_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "--dry-run", "export", "--format", "debian", "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(ln.startswith(f"would write {out}/") for ln in lines), lines
    assert not out.exists()


def test_a_subset_in_the_kernel_teams_layout(tmp_path):
    """The regression fix alone, where the Debian kernel keeps fixes."""
    fix = "xfrm-make-state-as-dead-before-final-put-when-migrate-fails"
    feature = "ipv6-raw-use-the-home-address-for-the-checksum"
    out = tmp_path / "out"
    export.export("debian", resources.patches() / "6.12", out, only=[feature, fix],
                  layout="debian-kernel",
                  meta=export.Dep3("https://example.org/p", "https://bugs.example/7"))
    series = (out / "debian/patches/series.mip6kit").read_text().split()
    assert series == [f"bugfix/all/mip6kit-ipsec-0005-{fix}.patch",
                      f"features/all/mip6kit-net-next-0001-{feature}.patch"], series
    backport = (out / "debian/patches" / series[0]).read_text().split("\n---\n")[0]
    assert "\nOrigin: backport, https://git.kernel.org/" in backport and "=5502bc4746e8" in backport
    assert "\nAuthor: Sabrina Dubroca <sd@queasysnail.net>" in backport
    assert "\nBug: https://bugs.example/7" in backport
    ours = (out / "debian/patches" / series[1]).read_text().split("\n---\n")[0]
    assert f"\nOrigin: other, https://example.org/p/6.12/net-next/0001-{feature}.patch" in ours


@pytest.mark.parametrize("args,needle", [
    (["--format", "quilt", "--layout", "debian-kernel"], "is a Debian layout"),
    (["--format", "debian", "--patches", "no-such-patch"], "no patch no-such-patch"),
])
def test_export_refuses_bad_requests(cli, tmp_path, args, needle):
    res = cli("export", *args, "-o", str(tmp_path / "out"))
    assert res.returncode == 2 and needle in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
