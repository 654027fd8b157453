# SPDX-License-Identifier: GPL-2.0-only
"""Config fragments, .config files, and explanations through kconfiglib."""

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import MipError

log = logging.getLogger(__name__)

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


@dataclass(frozen=True)
class Setting:
    symbol: str  # without the CONFIG_ prefix
    value: str  # y, m, n, a number or a quoted string
    line: int


def parse_config_text(text: str, origin: str, strict: bool) -> dict[str, Setting]:
    """Parse .config syntax.  strict=True (fragments) rejects unknown lines."""
    out: dict[str, Setting] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = _SET.match(line)
        if m:
            name, value = m.group(1)[7:], m.group(2)
        elif (u := _UNSET.match(line)):
            name, value = u.group(1)[7:], "n"
        elif not line or line.startswith("#"):
            continue
        else:
            if strict:
                raise MipError(f"{origin}:{n}: not a CONFIG_X=value line: {raw!r}")
            continue
        if strict and name in out:
            raise MipError(f"{origin}:{n}: CONFIG_{name} set twice "
                           f"(first on line {out[name].line})")
        out[name] = Setting(name, value, n)
    return out


def read_config(path: Path, strict: bool = False) -> dict[str, Setting]:
    try:
        text = path.read_text()
    except OSError as e:
        raise MipError(f"cannot read config file {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise MipError(f"{path} is not a text config file") from e
    return parse_config_text(text, str(path), strict)


def read_fragment(path: Path) -> dict[str, Setting]:
    """A kselftest-style fragment: CONFIG_X=value lines, sorted (LC_ALL=C)."""
    frag = read_config(path, strict=True)
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if lines != sorted(lines):  # code point order, as LC_ALL=C sort
        raise MipError(f"{path}: lines are not sorted; run: LC_ALL=C sort -o {path} {path}")
    return frag


def _load_kconfiglib():
    try:
        import kconfiglib
    except ImportError as e:
        raise MipError("kconfiglib is not installed; run scripts/setup.sh") from e

    class ShimKconfig(kconfiglib.Kconfig):
        """kconfiglib 14.1.0 predates two Kconfig keywords of current kernels.

        Since 5.13 `MODULES` says a bare `modules` (older trees: `option
        modules`); 6.18 adds a bare `transitional` attribute.  Rewrite the
        first and drop the second; neither changes a symbol's value.
        """

        def _tokenize(self, s):
            word = s.strip()
            if word == "modules":
                s = s.replace("modules", "option modules", 1)
            elif word == "transitional":
                return (None,)
            return super()._tokenize(s)

    return kconfiglib, ShimKconfig


def load_kconfig(srctree: Path, dotconfig: Path | None, arch: str = "x86"):
    """Parse the tree's Kconfig (about 7 s for 6.12) and load a .config."""
    kconfiglib, shim = _load_kconfiglib()
    env = {"srctree": str(srctree), "ARCH": arch, "SRCARCH": arch, "CC": "gcc",
           "LD": "ld", "HOSTCC": "gcc", "HOSTCXX": "g++"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    start = time.monotonic()
    try:
        kconf = shim(str(srctree / "Kconfig"), warn=False)
        if dotconfig is not None:
            kconf.load_config(str(dotconfig), replace=True)
    except (kconfiglib.KconfigError, OSError) as e:
        raise MipError(f"kconfiglib could not parse {srctree}/Kconfig: {e}") from e
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    log.debug("kconfiglib parsed %s in %.1f s", srctree, time.monotonic() - start)
    return kconf


def explain(kconf, name: str) -> str:
    """Why a symbol is not at the value asked for: its dependencies."""
    import kconfiglib

    sym = kconf.syms.get(name)
    if sym is None or not sym.nodes:
        return "no such symbol in this tree's Kconfig"
    dep = sym.direct_dep
    dep_value = kconfiglib.TRI_TO_STR[kconfiglib.expr_value(dep)]
    parts = [f"depends on {kconfiglib.expr_str(dep)} (= {dep_value})"]
    blockers = [f"{s.name}={s.str_value}" for s in kconfiglib.expr_items(dep)
                if isinstance(s, kconfiglib.Symbol) and not s.is_constant
                and s.tri_value == 0]
    if blockers:
        parts.append("unset: " + ", ".join(sorted(set(blockers))))
    if sym.rev_dep is not kconf.n and kconfiglib.expr_value(sym.rev_dep):
        parts.append(f"selected by {kconfiglib.expr_str(sym.rev_dep)}")
    if not sym.visibility and sym.type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        parts.append("no prompt is visible, so only a select or default can set it")
    return "; ".join(parts)


@dataclass(frozen=True)
class Dropped:
    symbol: str
    wanted: str
    got: str
    why: str

    def __str__(self) -> str:
        return f"CONFIG_{self.symbol}={self.wanted} requested, got {self.got}: {self.why}"


def check_fragment(srctree: Path, dotconfig: Path, fragment: Path) -> list[Dropped]:
    """Every line of the fragment against the final .config, via kconfiglib."""
    frag = read_fragment(fragment)
    kconf = load_kconfig(srctree, dotconfig)
    dropped = []
    for s in frag.values():
        sym = kconf.syms.get(s.symbol)
        if sym is None or not sym.nodes:
            dropped.append(Dropped(s.symbol, s.value, "nothing", "no such symbol in this tree"))
            continue
        if sym.str_value != s.value.strip('"'):
            got = sym.str_value or "n"
            dropped.append(Dropped(s.symbol, s.value, got, explain(kconf, s.symbol)))
    return dropped


def unmet(config: dict[str, Setting], fragment: dict[str, Setting]) -> list[Setting]:
    """Fragment lines that the .config does not hold, read as kbuild wrote it."""
    return [s for s in fragment.values()
            if config.get(s.symbol, Setting(s.symbol, "n", 0)).value != s.value]
