# SPDX-License-Identifier: GPL-2.0-only
"""Bad input gets a clear message and exit 2, never a traceback."""

import os
import shutil
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
    (["-v", "run", "-q"], "mutually exclusive"),
    (["run", "--baseline-only", "--patched-only"], "not allowed with argument"),
    (["run", "--patched-only", "--no-series"], "--patched-only needs a series"),
    (["run", "--tree", "/nonexistent/linux"], "no such directory"),
    (["run", "--tree", "/etc"], "not a kernel tree"),
    (["run", "--series", "/nonexistent", "--tree", "/etc"], "not a kernel tree"),
    (["boot", "--no-series"], "needs a terminal on stdin"),
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


def test_a_tree_that_carries_the_series_is_refused_before_any_build(cli, tmp_path):
    """A developer who git am'd the series into their --tree: the series
    would be applied twice and the build fail (exit 3) after minutes.  Now
    exit 2 at once, naming --no-series; the same tree without the series
    goes on (a dry run: nothing is built)."""
    from test_export import scratch_copy

    from mip6kit import resources, tree
    from mip6kit.cache import cache_root
    from mip6kit.proc import Runner
    from mip6kit.scratch import patch_argv

    linux = scratch_copy("6.12", tmp_path / "linux")
    origin = tree.debian_source("6.12", cache_root(), Runner())
    shutil.copy2(origin / "Makefile", linux / "Makefile")
    env = {"MIP6KIT_CACHE": str(tmp_path / "cache"), "PATH": os.environ["PATH"]}
    pristine = cli("--dry-run", "run", "--tree", str(linux), env=env)
    assert pristine.returncode == 0, pristine.stderr
    for patch in tree.read_series(resources.patches() / "6.12"):
        Runner().run(patch_argv(linux, patch), capture=True)
    res = cli("--dry-run", "run", "--tree", str(linux), env=env)
    assert res.returncode == 2, res.stderr
    assert "already carries 13 of the series' 13 patches" in res.stderr, res.stderr
    assert "--no-series" in res.stderr and "Traceback" not in res.stderr
    assert "make" not in res.stdout and "rsync" not in res.stdout, "refused after a step"


def test_readme_commands_are_the_parsers_usage():
    from mip6kit.cli import synopsis
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Commands\n\n```\n", 1)[1].split("```\n", 1)[0]
    assert block == synopsis(), "README's Commands block is stale: paste " \
        "`python -c 'from mip6kit.cli import synopsis; print(synopsis(), end=\"\")'`"


def test_global_options_after_the_command(cli, tmp_path):
    env = {"MIP6KIT_CACHE": str(tmp_path), "PATH": os.environ["PATH"]}
    res = cli("gc", "--dry-run", "--keep", "2", env=env)
    assert res.returncode == 0 and "would free" in res.stdout, res.stderr
    res = cli("list", "-k", "test_round_trip", "-q", env=env)
    assert res.returncode == 0 and res.stdout == "test_xfrm_hoaddr.py::test_round_trip\n"
    assert res.stderr == "", "-q after the command keeps the summary off"


def test_list_names_the_tests_k_selects(cli):
    res = cli("list", "-k", "test_rh2")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["test_rh2.py::test_rh2_delivered_to_home_address",
                                       "test_rh2.py::test_rh2_dropped_without_home_flag"]
    assert "2 tests match -k test_rh2" in res.stderr
    bad = cli("list", "-k", "no_such_test")
    assert bad.returncode == 2 and "no verifier test matches" in bad.stderr


@pytest.mark.parametrize("args,needle", [
    (["run", "--base", "6.12", "--baseline-only", "-k", "test_selftest"],
     "drop --baseline-only"),
    (["run", "--base", "6.12", "--no-series", "-k", "test_selftest"], "drop --baseline-only"),
    (["selftests", "--base", "6.12", "--script", "no_such.sh"], "no selftest no_such.sh"),
])
def test_bad_selection_is_refused_before_any_build(cli, args, needle):
    """Refused at once, not after minutes of build: in a dry run nothing of
    the build is printed before the refusal."""
    res = cli("--dry-run", *args)
    assert res.returncode == 2 and needle in res.stderr, res.stderr
    assert "make" not in res.stdout and "rsync" not in res.stdout
