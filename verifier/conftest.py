# SPDX-License-Identifier: GPL-2.0-only
"""Fixtures: a mobile node and a home agent, each in its own netns.

  netns mn                                   netns ha
  lo  HoA 2001:db8:1::10/128 (tests add it)  lo  HA  2001:db8:1::1/128
  m0  CoA 2001:db8:a::10/64  <--- veth --->  h0      2001:db8:a::1/64

`mcoa` is the multihomed set-up of verifier.mcoa with two links (the
XFRMA_HOADDR suites).  Every namespace is removed when the test ends, pass
or fail.
"""

from dataclasses import dataclass

import pytest

from . import splat
from .cmd import cmd
from .mcoa import multihomed
from .netns import IFA_F_NODAD, Namespace, namespaces, veth


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "patch(name, config=None): the test guards that patch: it must fail "
        "on the unpatched kernel and pass with the series; config='SYMBOL=value' "
        "limits that to kernels built so (elsewhere it must pass on both)")


@dataclass(frozen=True)
class Topo:
    mn: Namespace
    ha: Namespace
    mn_if: str = "m0"
    ha_if: str = "h0"
    hoa: str = "2001:db8:1::10"
    coa: str = "2001:db8:a::10"
    ha_link: str = "2001:db8:a::1"
    ha_addr: str = "2001:db8:1::1"

    def add_hoa(self, flags: int) -> None:
        self.mn.add_addr("lo", self.hoa, 128, flags)


@pytest.fixture
def topo():
    with namespaces("mn", "ha") as (mn, ha):
        t = Topo(mn, ha)
        veth(mn, t.mn_if, ha, t.ha_if)
        mn.add_addr(t.mn_if, t.coa, 64, IFA_F_NODAD)
        ha.add_addr(t.ha_if, t.ha_link, 64, IFA_F_NODAD)
        ha.add_addr("lo", t.ha_addr, 128, IFA_F_NODAD)
        # Permanent neighbours: no ND delay while link-locals are still tentative.
        mn.ip_batch(["neigh", "add", t.ha_link, "lladdr", ha.mac(t.ha_if),
                     "dev", t.mn_if, "nud", "permanent"],
                    ["route", "add", "2001:db8:1::/64", "via", t.ha_link,
                     "dev", t.mn_if])
        ha.ip_batch(["neigh", "add", t.coa, "lladdr", mn.mac(t.mn_if), "dev", t.ha_if,
                     "nud", "permanent"],
                    ["route", "add", f"{t.hoa}/128", "via", t.coa, "dev", t.ha_if])
        yield t


@pytest.fixture
def mcoa(no_splat):
    """MN and HA joined by two links (verifier.mcoa), link 1 the best path."""
    with multihomed(2) as m:
        yield m


@pytest.fixture
def no_splat():
    """Fail the test if the kernel logged a splat while it ran: verifier/splat.py,
    which reads the host's console too.  Not a leak: a refcount tracker reports
    when a namespace is freed, later and asynchronously, so under another test;
    the host reports leaks (vm/leaks.py)."""
    before = _dmesg().count("\n")
    yield
    new = "\n".join(_dmesg().splitlines()[before:])
    hit = splat.find(new)
    assert hit is None, f"kernel splat during the test: {hit.line}\n{new}"


def _dmesg() -> str:
    return cmd(["dmesg"]).stdout
