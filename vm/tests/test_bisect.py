# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit bisect (vm/bisect.py): exit codes for git bisect run and the
checks made before any build; the real bisection of a planted history is
scripts/bisect-demo.sh."""

import re
import subprocess

import pytest

from mip6kit import bisect
from mip6kit.errors import Exit, MipError
from mip6kit.proc import Runner


@pytest.mark.parametrize("code,want", [
    (Exit.PASS, bisect.GOOD), (Exit.TEST_FAILURE, bisect.BAD),
    (Exit.KERNEL_CRASH, bisect.BAD), (Exit.BUILD_FAILURE, bisect.SKIP),
    (Exit.BOOT_FAILURE, bisect.SKIP), (Exit.USAGE, bisect.ABORT),
    (Exit.HOST_FAILURE, bisect.ABORT),
])
def test_run_exit_codes_become_bisect_verdicts(code, want):
    assert bisect.verdict(code) == want


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "linux"
    r.mkdir()
    git = ["git", "-C", str(r), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    for n in range(3):
        (r / "f").write_text(str(n))
        subprocess.run([*git, "add", "f"], check=True)
        subprocess.run([*git, "commit", "-qm", f"c{n}"], check=True)
    return r


def test_bad_revisions_are_refused_before_any_build(repo, tmp_path):
    with pytest.raises(MipError, match="--good nope: no such commit"):
        bisect.prepare(repo, "nope", "HEAD", tmp_path / "cache", Runner())
    with pytest.raises(MipError, match="is not an ancestor"):
        bisect.prepare(repo, "HEAD", "HEAD~2", tmp_path / "cache", Runner())


def test_the_users_repository_is_only_read(repo, tmp_path):
    before = subprocess.run(["git", "-C", str(repo), "for-each-ref"], capture_output=True,
                            text=True).stdout
    clone, good, bad = bisect.prepare(repo, "HEAD~2", "HEAD", tmp_path / "cache", Runner())
    assert clone.is_relative_to(tmp_path / "cache-bisect") and (clone / ".git").is_dir()
    assert good != bad
    after = subprocess.run(["git", "-C", str(repo), "for-each-ref"], capture_output=True,
                           text=True).stdout
    assert before == after and not (repo / ".git/worktrees").exists()


def test_a_failed_clone_is_an_error_not_a_traceback(repo, tmp_path):
    """git clone into a directory that is in the way fails: a MipError that
    names the clone (the CLI prints it, exit 2), not a CalledProcessError."""
    from mip6kit.cache import short_hash

    cache = tmp_path / "cache"
    clone = tmp_path / "cache-bisect" / short_hash(str(repo.resolve())) / "linux"
    clone.mkdir(parents=True)
    (clone / "in-the-way").write_text("x")
    with pytest.raises(MipError, match="git clone --shared .* failed") as exc:
        bisect.prepare(repo, "HEAD~2", "HEAD", cache, Runner())
    assert exc.value.code == Exit.USAGE


FAKE_RUN = """#!/bin/sh
# stands in for `mip6kit run` (same exit codes): the tests fail where f says bad
[ -e "$ABORT_FILE" ] && { echo "host trouble" >&2; exit 2; }
while [ $# -gt 0 ]; do [ "$1" = --tree ] && tree=$2; shift; done
grep -q bad "$tree/f" && exit 1
exit 0
"""


def _history(root, contents: list[tuple[str, str]]):
    """A git repository with one commit per (file, text), in order."""
    root.mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    for n, (name, text) in enumerate(contents):
        (root / name).write_text(text)
        subprocess.run([*git, "add", name], check=True)
        subprocess.run([*git, "commit", "-qm", f"c{n} {name}"], check=True)
    return lambda *a: subprocess.run([*git, *a], capture_output=True, text=True,
                                     check=True).stdout.strip()


@pytest.fixture
def bisect_env(tmp_path):
    fake = tmp_path / "fake-run"
    fake.write_text(FAKE_RUN)
    fake.chmod(0o755)
    return {"MIP6KIT_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
            "MIP6KIT_BISECT_RUN": str(fake), "ABORT_FILE": str(tmp_path / "abort")}


def _steps(out: str) -> list[str]:
    return re.findall(r"^mip6kit bisect: (\w+) try 1/1: (\w+) \(\d+ s, ", out, re.M)


def test_each_step_is_printed_and_the_first_bad_found(cli, tmp_path, bisect_env):
    git = _history(tmp_path / "linux", [("f", "ok"), ("g", "1"), ("f", "bad"), ("g", "2"),
                                        ("g", "3"), ("g", "4")])
    first_bad = git("rev-parse", "--short", "HEAD~3")
    res = cli("bisect", "--tree", str(tmp_path / "linux"), "--good", "HEAD~5", "--bad", "HEAD",
              env=bisect_env)
    assert res.returncode == 0, res.stderr
    assert _steps(res.stdout), res.stdout
    assert f"first bad commit: {first_bad} c2 f" in res.stdout, res.stdout


def test_paths_limit_the_steps_to_commits_that_touch_them(cli, tmp_path, bisect_env):
    git = _history(tmp_path / "linux", [("f", "ok"), ("g", "1"), ("f", "bad"), ("g", "2"),
                                        ("g", "3"), ("g", "4")])
    touching_f = set(git("log", "--format=%h", "--", "f").split())
    res = cli("bisect", "--tree", str(tmp_path / "linux"), "--good", "HEAD~5", "--bad", "HEAD",
              "--", "f", env=bisect_env)
    assert res.returncode == 0, res.stderr
    tested = {rev for rev, _ in _steps(res.stdout)}
    assert tested and all(any(t.startswith(r[:7]) or r.startswith(t) for r in touching_f)
                          for t in tested), (tested, touching_f)
    assert "c2 f" in res.stdout


def test_first_good_finds_the_commit_that_fixed_it(cli, tmp_path, bisect_env):
    git = _history(tmp_path / "linux", [("f", "bad"), ("g", "1"), ("g", "2"), ("f", "ok"),
                                        ("g", "3")])
    fixed = git("rev-parse", "--short", "HEAD~1")
    res = cli("bisect", "--tree", str(tmp_path / "linux"), "--bad", "HEAD~4", "--good", "HEAD",
              "--first-good", env=bisect_env)
    assert res.returncode == 0, res.stderr
    assert f"first fixed commit: {fixed} c3 f" in res.stdout, res.stdout
    wrong_way = cli("bisect", "--tree", str(tmp_path / "linux"), "--bad", "HEAD",
                    "--good", "HEAD~4", "--first-good", env=bisect_env)
    assert wrong_way.returncode == 2 and "is not an ancestor" in wrong_way.stderr


def test_an_aborted_bisection_says_so_whole_and_resumes(cli, tmp_path, bisect_env):
    _history(tmp_path / "linux", [("f", "ok"), ("g", "1"), ("g", "2"), ("f", "bad"),
                                  ("g", "3"), ("g", "4"), ("g", "5"), ("g", "6")])
    args = ["bisect", "--tree", str(tmp_path / "linux"), "--good", "HEAD~7", "--bad", "HEAD"]
    (tmp_path / "abort").write_text("")
    stopped = cli(*args, env=bisect_env)
    assert stopped.returncode == 2, stopped.stderr
    assert "git bisect run stopped" in stopped.stderr and "run the same command again" \
        in stopped.stderr and "Traceback" not in stopped.stderr
    assert ": abort (" in stopped.stdout
    (tmp_path / "abort").unlink()
    resumed = cli(*args, env=bisect_env)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the bisection" in resumed.stderr and "first bad commit:" in resumed.stdout
    again = cli(*args, env=bisect_env)  # finished: a new bisection, not a resumed one
    assert again.returncode == 0 and "resuming" not in again.stderr


REPORTING_RUN = """#!/bin/sh
# as `mip6kit run --no-series` does: a failing test that guards a patch is
# reported in results.json and the exit code is 0
while [ $# -gt 0 ]; do
  case $1 in --tree) tree=$2;; --run-dir) out=$2;; esac; shift
done
mkdir -p "$out/baseline"
outcome=passed; grep -q bad "$tree/f" && outcome=failed
printf '{"t.py::t": {"outcome": "%s", "patches": ["raw"]}}' $outcome > "$out/baseline/results.json"
exit 0
"""


def test_a_step_is_bad_when_a_test_fails_though_run_reports_only(cli, tmp_path, bisect_env):
    """The bisect demo found this: `run --no-series` reports a marked test
    without judging it (exit 0), so a step must read the outcomes."""
    fake = tmp_path / "reporting-run"
    fake.write_text(REPORTING_RUN)
    fake.chmod(0o755)
    git = _history(tmp_path / "linux", [("f", "ok"), ("g", "1"), ("f", "bad"), ("g", "2")])
    first_bad = git("rev-parse", "--short", "HEAD~1")
    res = cli("bisect", "--tree", str(tmp_path / "linux"), "--good", "HEAD~3", "--bad", "HEAD",
              env={**bisect_env, "MIP6KIT_BISECT_RUN": str(fake)})
    assert res.returncode == 0, res.stderr
    assert f"first bad commit: {first_bad} c2 f" in res.stdout, res.stdout


def test_only_skipped_commits_left_is_a_verdict_not_an_abort(cli, tmp_path, bisect_env):
    """git stops with "only 'skip'ped commits left": exit 1, and the same
    command then starts afresh instead of resuming a dead bisection."""
    fake = tmp_path / "skipping-run"
    fake.write_text(FAKE_RUN.replace("grep -q bad", "grep -q skip \"$tree/g\" && exit 3\n"
                                     "grep -q bad"))
    fake.chmod(0o755)
    _history(tmp_path / "linux", [("f", "ok"), ("g", "skip"), ("f", "bad"), ("g", "ok")])
    env = {**bisect_env, "MIP6KIT_BISECT_RUN": str(fake)}
    args = ["bisect", "--tree", str(tmp_path / "linux"), "--good", "HEAD~3", "--bad", "HEAD"]
    res = cli(*args, env=env)
    assert res.returncode == 1 and "cannot decide: only skipped commits" in res.stderr, \
        res.stdout + res.stderr
    again = cli(*args, env=env)
    assert "resuming" not in again.stderr
