# SPDX-License-Identifier: GPL-2.0-only
"""Bad input gets a clear message and exit 2, never a traceback."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the checkout


@pytest.mark.parametrize("args,needle", [
    (["run", "--jobs", "0"], "--jobs: must be at least 1"),
    (["run", "--jobs", "two"], "--jobs: not a whole number"),
    (["run", "--test-timeout", "0"], "--test-timeout: must be between 0 and 1000000"),
    (["selftests", "--repeat", "0"], "--repeat: must be at least 1"),
    (["run", "--timeout", "0"], "--timeout: must be at least 1"),
    (["run", "--base", "7.0"], "invalid choice"),
    (["run", "--tree", "/nonexistent/linux"], "no such directory"),
    (["run", "--tree", "/etc"], "not a kernel tree"),
    (["run", "--series", "/nonexistent", "--tree", "/etc"], "not a kernel tree"),
    (["boot", "--no-series"], "boot needs a command"),
    (["config", "check", "/nonexistent"], "no such file"),
    (["config", "check", "/etc/hostname"], "no CONFIG_ lines"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input(cli, tmp_path, args, needle):
    res = cli(*args, env={"MIP6KIT_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("extra,needle", [
    (["-k", "zzz_no_such_test"], "no verifier test matches"),
    (["-k", "not and"], "bad test selection"),
    (["--run-dir", "{linux}/runs"], "inside the tree"),
    (["--series", "{tmp}"], "series"),
])
def test_bad_run_options_before_any_build(cli, fake_linux, tmp_path, extra, needle):
    linux = fake_linux(tmp_path / "linux")
    extra = [e.format(linux=linux, tmp=tmp_path) for e in extra]
    series = [] if "--series" in extra else ["--no-series"]
    res = cli("run", "--tree", str(linux), *series, *extra,
              env={"MIP6KIT_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "cache/work").exists(), "a build started"


def test_run_dir_that_is_a_file(cli, fake_linux, tmp_path):
    linux = fake_linux(tmp_path / "linux")
    (tmp_path / "f").write_text("")
    res = cli("build", "--tree", str(linux), "--no-series", "--run-dir", str(tmp_path / "f"),
              env={"MIP6KIT_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2 and "not a directory" in res.stderr


def test_tree_without_series_is_refused(cli, fake_linux, tmp_path):
    """A --tree whose version has no series in patches/ would test the
    baseline alone and could pass: refused unless asked for."""
    linux = fake_linux(tmp_path / "linux")
    mk = linux / "Makefile"
    mk.write_text(mk.read_text().replace("PATCHLEVEL = 12", "PATCHLEVEL = 15"))
    env = {"MIP6KIT_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    res = cli("--dry-run", "build", "--tree", str(linux), env=env)
    assert res.returncode == 2, res.stderr
    assert "no series for Linux 6.15.117" in res.stderr and "--no-series" in res.stderr
    assert cli("--dry-run", "build", "--tree", str(linux), "--no-series",
               env=env).returncode == 0


def test_help_and_readme_document_every_exit_code(cli):
    """One table (errors.MEANINGS): --help and the README are made from it."""
    from mip6kit.errors import Exit, exit_code_table, exit_codes
    out = " ".join(cli("run", "--help").stdout.split())
    for code, text in exit_codes():
        assert f"{code} {' '.join(text.replace('`', '').split())}" in out
    assert {c for c, _ in exit_codes()} >= {int(c) for c in Exit}
    readme = (ROOT / "README.md").read_text()
    assert exit_code_table() in readme, "README's exit code table is stale: paste " \
        "mip6kit.errors.exit_code_table() into its Exit codes section"


def test_dry_run_prints_commands(cli, fake_linux, tmp_path):
    linux = fake_linux(tmp_path / "linux")
    res = cli("--dry-run", "build", "--tree", str(linux), "--no-series",
              env={"MIP6KIT_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert "rsync -a --delete" in res.stdout and "allnoconfig" in res.stdout
    assert "bzImage" in res.stdout
    assert not (tmp_path / "cache").exists(), "the dry run wrote to the cache"


def test_runs_latest_survives_concurrent_runs(tmp_path):
    """Two runs at once replace runs/latest atomically: neither fails, and it
    ends as a link to one of their run directories."""
    from concurrent.futures import ThreadPoolExecutor

    from mip6kit.job import new_rundir

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: new_rundir(tmp_path, "6.12"), range(64)))
    latest = tmp_path / "runs/latest"
    assert latest.is_symlink() and latest.resolve() in made
    assert not list((tmp_path / "runs").glob(".latest-*")), "a staged link was left behind"


def test_selection_names_the_modules_the_guest_collects():
    from mip6kit.guestrun import check_selection
    from mip6kit.proc import Runner
    assert check_selection(["-k", "test_mh_bu_cmsg_hao or test_round_trip"], Runner()) == [
        "test_hao_checksum.py", "test_xfrm_hoaddr.py"]
    assert check_selection([], Runner()) == [], \
        "no selection: the guest collects the whole suite"


@pytest.mark.parametrize("extra,needle", [
    (["--no-series"], "drop --no-series"),
    (["--profile", "lean"], "coverage builds the coverage profile"),
    (["--compare", "/nonexistent/coverage.json"], "no such file"),
])
def test_bad_coverage_options_before_any_build(cli, fake_linux, tmp_path, extra, needle):
    linux = fake_linux(tmp_path / "linux")
    series = tmp_path / "series"
    series.mkdir()
    (series / "series").write_text("")
    args = ["coverage", "--tree", str(linux), *extra]
    if "--no-series" not in extra:
        args += ["--series", str(series)]
    res = cli(*args, env={"MIP6KIT_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "cache/work").exists(), "a build started"
