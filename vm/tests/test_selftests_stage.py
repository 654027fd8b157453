# SPDX-License-Identifier: GPL-2.0-only
"""The staged selftests directory (vm/selftests.py) from the Debian trees'
own files: the helpers compile, and the functions that fcnal-test.sh calls
without sourcing them work as commands in a real netns on the host."""

import os
import socket
import subprocess
import time

import pytest

from mip6kit import selftests
from mip6kit.proc import Runner
from mip6kit.verifier.netns import Namespace, unique_name


@pytest.fixture
def staged(debian_source, tmp_path):
    return selftests.stage(debian_source, tmp_path, ["fcnal-test.sh:-t ipv6_udp"], Runner())


@pytest.fixture
def netns():
    ns = Namespace(unique_name("stage"))
    yield ns
    ns.remove()


def _run(staged, *argv):
    env = dict(os.environ, PATH=f"{staged}:{os.environ['PATH']}")
    start = time.monotonic()
    res = subprocess.run(["bash", "-c", '"$@"', "-", *argv], env=env, cwd=staged,
                         capture_output=True, text=True, timeout=30)
    return res, time.monotonic() - start


def test_wait_local_port_listen_waits_for_the_port(staged, netns):
    # no listener: net_helper.sh's loop polls 10 times, 0.1 s apart
    res, idle = _run(staged, "wait_local_port_listen", netns.name, "12345", "udp")
    assert res.returncode == 0, res.stderr
    assert idle >= 1.0, f"returned after {idle:.2f} s without a listener: it did not wait"
    server = netns.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    server.bind(("::", 12345))
    try:
        res, found = _run(staged, "wait_local_port_listen", netns.name, "12345", "udp")
    finally:
        server.close()
    assert res.returncode == 0, res.stderr
    assert found < idle / 2, f"took {found:.2f} s with the port bound: it did not see it"


def test_slowwait_retries_until_success(staged, tmp_path):
    flag = tmp_path / "flag"
    subprocess.Popen(["sh", "-c", f"sleep 0.5; touch {flag}"])
    res, seconds = _run(staged, "slowwait", "5", "test", "-e", str(flag))
    assert res.returncode == 0 and 0.4 < seconds < 5, (res, seconds)
    res, seconds = _run(staged, "slowwait", "1", "false")
    assert res.returncode == 1 and seconds >= 1, (res, seconds)
