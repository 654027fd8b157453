# SPDX-License-Identifier: GPL-2.0-only
"""Network namespaces, veth links and commands run inside them."""

import contextlib
import ctypes
import os
import secrets
import shlex
import socket
import threading
import time
from collections.abc import Iterable

from pyroute2 import IPRoute
from pyroute2 import netns as pr_netns

from .cmd import CmdError, CompletedProcess, cmd

IFA_F_NODAD = 0x02
IFA_F_DADFAILED = 0x08
IFA_F_HOMEADDRESS = 0x10
IFA_F_TENTATIVE = 0x40
CLONE_NEWNET = 0x40000000
STAT_FILES = ("/proc/net/snmp6", "/proc/net/xfrm_stat")
_libc = ctypes.CDLL(None, use_errno=True)


class Namespace:
    """A named netns with an IPRoute handle; remove() undoes create()."""

    def __init__(self, name: str):
        self.name = name
        self._netns_fd: int | None = None
        pr_netns.create(name)
        self.ipr = IPRoute(netns=name)
        self.ipr.link("set", index=self.ipr.link_lookup(ifname="lo")[0], state="up")

    def remove(self) -> None:
        """Delete the namespace's name (its sockets keep it alive); once."""
        if getattr(self, "_removed", False):
            return
        self._removed = True
        if self._netns_fd is not None:
            os.close(self._netns_fd)
        with contextlib.suppress(Exception):
            self.ipr.close()
        pr_netns.remove(self.name)

    def ifindex(self, ifname: str) -> int:
        found = self.ipr.link_lookup(ifname=ifname)
        if not found:
            raise LookupError(f"{ifname} not found in netns {self.name}")
        return found[0]

    def mac(self, ifname: str) -> str:
        return self.ipr.get_links(self.ifindex(ifname))[0].get_attr("IFLA_ADDRESS")

    def socket(self, family: int, type_: int, proto: int = 0) -> socket.socket:
        return pr_netns.create_socket(self.name, family, type_, proto)

    def run(self, *argv: str, check: bool = True) -> CompletedProcess:
        """A command inside the namespace (ip netns exec)."""
        return cmd(list(argv), ns=self.name, check=check)

    def ip(self, *args: str, check: bool = True) -> CompletedProcess:
        return cmd(["ip", "-n", self.name, *args], check=check)

    def ip_batch(self, *commands: list[str], ipv6: bool = False) -> None:
        """Several `ip` commands in one process (ip -batch): under TCG every
        process costs about 0.1 s, and a topology needs a dozen commands.
        ipv6: `ip -6` for all of them (rules and routes default to IPv4)."""
        script = "".join(shlex.join(c) + "\n" for c in commands)
        argv = ["ip", *(["-6"] if ipv6 else []), "-n", self.name, "-batch", "-"]
        res = cmd(argv, input=script, check=False)
        if res.returncode != 0:
            raise CmdError([*argv, "<<", script], None, res)

    def sysctl(self, key: str, value: str | int) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        # no newline, as sysctl(8) writes: 6.1's per-device
        # ignore_routes_with_linkdown handler returns 1 (one byte written),
        # so a shell's "1\n" becomes a short write and its retry fails (EIO)
        self.run("sh", "-c", f"printf %s {value} > {path}")

    def counters(self) -> dict[str, int]:
        """/proc/net/snmp6 and /proc/net/xfrm_stat (when the kernel has it) of
        this namespace, read from a thread inside it: no process to spawn."""
        if self._netns_fd is None:
            self._netns_fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        out = {}
        for text in _read_in_netns(self._netns_fd, STAT_FILES):
            for line in text.splitlines():
                words = line.split()
                if len(words) == 2 and words[1].isdigit():
                    out[words[0]] = int(words[1])
        return out

    def snmp(self, counter: str) -> int:
        """One counter (e.g. Udp6InCsumErrors, XfrmInNoPols)."""
        found = self.counters()
        if counter not in found:
            raise KeyError(f"{counter} not in {' or '.join(STAT_FILES)} of netns {self.name}")
        return found[counter]

    def syn_recv_peers(self, timeout: float = 3.0) -> list[str]:
        """Peers of the pending TCP connection requests (ss, state
        SYN-RECV), waiting up to timeout for the first one."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.run("ss", "-Htn", "state", "syn-recv").stdout.splitlines()
            peers = [line.split()[-1].rsplit(":", 1)[0].strip("[]") for line in lines if line]
            if peers or time.monotonic() > deadline:
                return peers
            time.sleep(0.05)

    def wait_can_send(self, ifname: str, timeout: float = 10.0) -> None:
        """Wait until linkwatch has handled ifname's carrier: operstate UP and
        its qdisc attached.  Until then a new device drops every packet in
        the no-op qdisc, silently, and under TCG that lasts up to a second
        after the carrier bit is set."""
        deadline = time.monotonic() + timeout
        while True:
            link = self.ipr.get_links(self.ifindex(ifname))[0]
            state, qdisc = link.get_attr("IFLA_OPERSTATE"), link.get_attr("IFLA_QDISC")
            if state == "UP" and qdisc != "noop":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ifname} in netns {self.name} cannot send after "
                                   f"{timeout:g} s: operstate {state}, qdisc {qdisc}")
            time.sleep(0.02)

    def add_addr(self, ifname: str, addr: str, prefixlen: int, flags: int = 0) -> None:
        self.ipr.addr("add", index=self.ifindex(ifname), address=addr,
                      prefixlen=prefixlen, flags=flags)

    def addr_flags(self, addr: str) -> int | None:
        """IFA_FLAGS of an address as the kernel dumps it (None if absent)."""
        for msg in self.ipr.get_addr(family=socket.AF_INET6):
            if msg.get_attr("IFA_ADDRESS") == addr:
                return msg.get_attr("IFA_FLAGS", msg["flags"])
        return None

    def wait_flags(self, addr: str, clear: int = 0, set_: int = 0,
                   timeout: float = 10.0) -> int | None:
        """Poll the dump until the flags in set_ are set and those in clear are not."""
        deadline = time.monotonic() + timeout
        flags = self.addr_flags(addr)
        while time.monotonic() < deadline:
            if flags is not None and not flags & clear and flags & set_ == set_:
                break
            time.sleep(0.1)
            flags = self.addr_flags(addr)
        return flags


End = tuple[Namespace, str]


def veth(a: Namespace, a_if: str, b: Namespace, b_if: str,
         wait: bool = True) -> tuple[End, End]:
    """A veth pair with one end in each namespace, both up; returns the ends.
    With wait, also able to send.  A topology of several pairs passes
    wait=False and calls wait_can_send on all ends at once: on 6.1,
    linkwatch may delay a pair's carrier event by a second (as non-urgent),
    and one batch costs that second once, not once per pair."""
    cmd(["ip", "link", "add", a_if, "netns", a.name, "type", "veth",
         "peer", "name", b_if, "netns", b.name])
    ends = ((a, a_if), (b, b_if))
    for ns, ifname in ends:
        ns.ipr.link("set", index=ns.ifindex(ifname), state="up")
    if wait:
        wait_can_send(ends)
    return ends


def wait_can_send(ends: Iterable[End]) -> None:
    """Namespace.wait_can_send on every (namespace, ifname) end."""
    for ns, ifname in ends:
        ns.wait_can_send(ifname)


def _read_in_netns(netns_fd: int, paths: tuple[str, ...]) -> list[str]:
    """Read /proc/net files as a thread that joined the netns sees them.
    (Python 3.11 has no os.setns; setns(2) on one thread leaves the others
    alone.  A file opened there reads nothing once that thread is gone, so
    every read gets its own short thread.)"""
    texts: list[str] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            if _libc.setns(netns_fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET)")
            for p in paths:
                with contextlib.suppress(FileNotFoundError):  # no xfrm_stat: no XFRM
                    with open(p.replace("/proc/net/", "/proc/thread-self/net/")) as f:
                        texts.append(f.read())
        except BaseException as e:  # handed to the caller's thread
            failure.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if failure:
        raise failure[0]
    return texts


@contextlib.contextmanager
def namespaces(*prefixes: str):
    """Fresh namespaces, one per name prefix; removed on exit, last first."""
    made: list[Namespace] = []
    try:
        for prefix in prefixes:
            made.append(Namespace(unique_name(prefix)))
        yield made
    finally:
        for ns in reversed(made):
            ns.remove()


def unique_name(prefix: str) -> str:
    """A netns name no other process picks: /run/netns is shared by every
    run on the host, and pids repeat across pid namespaces."""
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(4)}"
