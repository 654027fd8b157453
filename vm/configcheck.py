# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit config check`: is a .config fit for Mobile IPv6 (mip6d, MCoA)?"""

import gzip
import lzma
from dataclasses import dataclass
from pathlib import Path

from . import kconfig
from .errors import MipError


@dataclass(frozen=True)
class Need:
    symbol: str
    accept: tuple[str, ...]  # values that are fine
    required: bool
    why: str


NEEDS = (
    Need("IPV6", ("y",), True, "MIP6 code paths in the core IPv6 stack"),
    Need("IPV6_MIP6", ("y",), True,
         "HAO/RH2 handling; source selection rule 4 (prefer home address) and the "
         "IPV6_PREFER_SRC_HOME/COA preferences are compiled only under "
         "#ifdef CONFIG_IPV6_MIP6 in net/ipv6/addrconf.c, so =m silently drops them"),
    Need("XFRM_USER", ("y", "m"), True, "HAO and RH2 states and policies (ip xfrm, mip6d)"),
    Need("XFRM_SUB_POLICY", ("y",), True, "mip6d installs sub-policies for BU/BA"),
    Need("IPV6_MULTIPLE_TABLES", ("y",), True,
         "policy routing per care-of address (from CoA lookup table)"),
    Need("IPV6_SUBTREES", ("y",), True, "source-specific routes used by mip6d"),
    Need("IPV6_TUNNEL", ("y", "m"), True, "the MN-HA ip6ip6 tunnel"),
    Need("XFRM_MIGRATE", ("y",), False, "XFRM_MSG_MIGRATE on handover"),
    Need("XFRM_STATISTICS", ("y",), False, "XfrmInNoStates and friends, to debug drops"),
    Need("IPV6_OPTIMISTIC_DAD", ("y",), False, "faster CoA configuration after movement"),
)


@dataclass(frozen=True)
class Finding:
    need: Need
    value: str  # as found; "n" when absent

    @property
    def status(self) -> str:
        if self.value in self.need.accept:
            return "ok"
        if self.value == "n":
            return "missing"
        if self.value == "m":
            return "module"
        return "wrong"


def _read(path: Path) -> str:
    opener = {".xz": lzma.open, ".gz": gzip.open}.get(path.suffix)
    try:
        if opener:
            with opener(path, "rt") as f:
                return f.read()
        return path.read_text()
    except FileNotFoundError:
        raise MipError(f"{path}: no such file") from None
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as e:
        raise MipError(f"{path}: cannot read it as a kernel .config ({e})") from None


def check(path: Path) -> list[Finding]:
    settings = kconfig.parse_config_text(_read(path), str(path), strict=False)
    if not settings:
        raise MipError(f"{path}: no CONFIG_ lines; is this a kernel .config?")
    return [Finding(n, settings[n.symbol].value if n.symbol in settings else "n")
            for n in NEEDS]


def passed(findings: list[Finding]) -> bool:
    return all(f.status == "ok" for f in findings if f.need.required)


def render(findings: list[Finding], path: Path) -> str:
    lines = [f"MIP6 config check of {path}"]
    for f in findings:
        kind = "required" if f.need.required else "recommended"
        want = "|".join(f.need.accept)
        lines.append(f"  {f.status.upper():8} CONFIG_{f.need.symbol}={f.value} "
                     f"({kind}, want {want}): {f.need.why}")
    bad = [f for f in findings if f.need.required and f.status != "ok"]
    lines.append("verdict: " + ("fit for MIP6" if not bad else
                 f"NOT fit for MIP6: {len(bad)} required symbol(s) missing, wrong or =m"))
    return "\n".join(lines) + "\n"
