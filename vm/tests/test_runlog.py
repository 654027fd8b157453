# SPDX-License-Identifier: GPL-2.0-only
"""Each job's run.log holds its own lines: a job's log is closed and
removed when the job ends (series check goes from base to base), and a job
in another thread (flakiness runs kernels in threads) does not see this
thread's lines."""

import logging
import threading

import pytest

from mip6kit.errors import Exit, MipError
from mip6kit.job import RunLog, run_log

log = logging.getLogger("mip6kit.test")


def _runlogs():
    return [h for h in logging.getLogger().handlers if isinstance(h, RunLog)]


def test_a_job_log_is_removed_when_the_job_ends(tmp_path):
    before = _runlogs()
    with run_log(tmp_path / "a.log"):
        log.warning("line of job a")
        assert len(_runlogs()) == len(before) + 1
    with run_log(tmp_path / "b.log"):
        log.warning("line of job b")
    assert _runlogs() == before
    a, b = (tmp_path / "a.log").read_text(), (tmp_path / "b.log").read_text()
    assert "line of job a" in a and "line of job b" not in a
    assert "line of job b" in b and "line of job a" not in b


def test_another_threads_job_logs_only_its_own_lines(tmp_path):
    ready, done = threading.Event(), threading.Event()

    def other():
        with run_log(tmp_path / "other.log"):
            ready.set()
            done.wait(5)
            log.warning("line of the other thread")

    t = threading.Thread(target=other)
    t.start()
    ready.wait(5)
    with run_log(tmp_path / "main.log"):
        log.warning("line of the main thread")
        done.set()
        t.join(5)
    main, other_log = (tmp_path / "main.log").read_text(), (tmp_path / "other.log").read_text()
    assert "main thread" in main and "other thread" not in main
    assert "other thread" in other_log and "main thread" not in other_log


def test_a_job_threads_helpers_still_reach_its_log(tmp_path):
    """A guest's thread (no job of its own) logs into the job's run.log."""
    with run_log(tmp_path / "job.log"):
        t = threading.Thread(target=lambda: log.warning("line of a guest thread"))
        t.start()
        t.join(5)
    assert "line of a guest thread" in (tmp_path / "job.log").read_text()


def test_the_error_that_ends_a_job_is_in_its_log(tmp_path):
    """The CLI reports a MipError after the job's block has closed its log:
    the log gets it first."""
    with pytest.raises(MipError), run_log(tmp_path / "job.log"):
        raise MipError("make failed", Exit.BUILD_FAILURE)
    assert "make failed (exit 3)" in (tmp_path / "job.log").read_text()
