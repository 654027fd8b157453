# SPDX-License-Identifier: GPL-2.0-only
"""What the running kernel was built with, read from /proc/config.gz."""

import functools
import gzip
import os
from pathlib import Path

import pytest

from .cmd import cmd

# The modules of the code the series changes, by config symbol.  The kernel
# loads most on demand (netlink family, xfrm type, rtnl link kind), but
# not mip6 for a raw socket's MH checks, nor xfrm_compat for a 32-bit task:
# a daemon on a modular kernel loads those, as require() does.
MODULES = {
    "INET6_AH": "ah6",
    "INET6_ESP": "esp6",
    "INET_ESP": "esp4",
    "IPV6_MIP6": "mip6",
    "NET_KEY": "af_key",
    "XFRM_USER": "xfrm_user",
    "XFRM_USER_COMPAT": "xfrm_compat",
}


@functools.cache
def kernel_config() -> dict[str, str]:
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, v = line.split("=", 1)
            out[k[7:]] = v
    return out


def config_or_skip() -> dict[str, str]:
    """kernel_config(), or skip the calling test when the kernel has none."""
    cfg = kernel_config()
    if not cfg:
        pytest.skip("/proc/config.gz missing (CONFIG_IKCONFIG_PROC not set)")
    return cfg


def require(symbol: str, value: str = "y") -> None:
    """Skip the calling test unless CONFIG_<symbol>=<value> in the running
    kernel; value y also takes a module (m), which is then loaded."""
    got = config_or_skip().get(symbol, "n")
    if got == "m" and value == "y":
        if symbol in MODULES:
            load(MODULES[symbol])
        return
    if got != value:
        pytest.skip(f"CONFIG_{symbol}={value} needed, kernel has CONFIG_{symbol}={got}")


def loaded() -> set[str]:
    try:
        return {line.split()[0] for line in Path("/proc/modules").read_text().splitlines()}
    except OSError:  # CONFIG_MODULES=n
        return set()


def load(module: str) -> None:
    """modprobe; a module that does not load fails the test with the reason."""
    if module in loaded():
        return
    res = cmd(["modprobe", module], check=False)
    if res.returncode != 0:
        pytest.fail(f"modprobe {module} failed (exit {res.returncode}): "
                    f"{(res.stderr or res.stdout).strip()}")


def holds(condition: str | None) -> bool:
    """Whether "SYMBOL=value" holds for the running kernel (None: always),
    as a patch marker's config= condition says."""
    if condition is None:
        return True
    symbol, _, value = condition.partition("=")
    return kernel_config().get(symbol, "n") == value


def kernel_version() -> tuple[int, int]:
    """(major, minor) of the running kernel."""
    return tuple(int(n) for n in os.uname().release.split("-")[0].split(".")[:2])
