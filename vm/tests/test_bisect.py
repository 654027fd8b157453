# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit bisect (vm/bisect.py): exit codes for git bisect run and the
checks made before any build; the real bisection of a planted history is
scripts/bisect-demo.sh."""

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
