# SPDX-License-Identifier: GPL-2.0-only
"""The one Runner every host process goes through (vm/proc.py): real
processes, no mocks."""

import signal
import subprocess

import pytest

from mip6kit import proc
from mip6kit.errors import Exit, MipError
from mip6kit.proc import Runner


@pytest.fixture(autouse=True)
def _fresh_registry():
    yield
    proc.resume()


def test_run_captures_and_a_failure_names_the_command_and_its_stderr():
    assert Runner().run(["sh", "-c", "echo out"], capture=True).stdout == "out\n"
    with pytest.raises(MipError) as e:
        Runner().run(["sh", "-c", "echo bad >&2; exit 3"], capture=True,
                     code=Exit.BUILD_FAILURE)
    assert e.value.code == Exit.BUILD_FAILURE
    assert "exit 3" in str(e.value) and "sh -c" in str(e.value) and "bad" in str(e.value)
    assert Runner().run(["false"], check=False).returncode == 1


def test_a_missing_program_is_a_usage_error_with_the_hint():
    with pytest.raises(MipError) as e:
        Runner().run(["mip6kit-no-such-tool"], hint="install it with apt")
    assert e.value.code == Exit.USAGE
    assert "mip6kit-no-such-tool: command not found; install it with apt" in str(e.value)


def test_dry_run_prints_by_the_same_path_and_only_queries_run(tmp_path, capsys):
    marker = tmp_path / "made"
    dry = Runner(dry_run=True)
    assert dry.run(["touch", str(marker)]).returncode == 0
    assert dry.stream(["touch", str(marker)], print) == 0
    with dry.spawn(["touch", str(marker)]) as child:
        assert child is None
    assert not marker.exists()
    assert capsys.readouterr().out == f"touch {marker}\n" * 3
    assert dry.run(["echo", "asked"], capture=True, query=True).stdout == "asked\n"


def test_stream_hands_over_each_line_as_it_comes(tmp_path):
    """The child prints its second line only once on_line has seen the
    first (it waits for the file on_line makes): a stream that handed lines
    over only at the end would see "late" instead."""
    go = tmp_path / "go"
    script = (f"echo one; i=0; while [ ! -e {go} ] && [ $i -lt 300 ]; do sleep 0.1; "
              "i=$((i+1)); done; [ -e {go} ] && echo two >&2 || echo late; exit 4")
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        go.touch()

    assert Runner().stream(["sh", "-c", script.replace("{go}", str(go))], on_line) == 4
    assert seen == ["one\n", "two\n"]


def test_kill_all_stops_every_group_and_starts_no_other():
    runner = Runner()
    with runner.spawn(["sh", "-c", "sleep 60 & wait"]) as a, \
            runner.spawn(["sleep", "60"], stop=signal.SIGTERM) as b:
        proc.kill_all()
        assert a.returncode == -signal.SIGKILL and b.returncode == -signal.SIGTERM
    with pytest.raises(MipError, match="stopping"):
        with runner.spawn(["sleep", "60"]):
            pass


def test_a_block_that_raises_kills_its_child():
    with pytest.raises(KeyboardInterrupt):
        with Runner().spawn(["sleep", "60"], stdout=subprocess.PIPE) as child:
            raise KeyboardInterrupt
    assert child.returncode == -signal.SIGKILL
