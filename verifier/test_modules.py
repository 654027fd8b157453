# SPDX-License-Identifier: GPL-2.0-only
"""The series' code as modules (--profile modules, --profile distro).

A distribution builds xfrm_user, af_key, esp6/ah6 (Debian) and, in these
profiles, mip6 and xfrm_compat as modules.  modpost checked at build time
that each symbol they use is exported; this checks the running kernel
agrees: each module loads, and the kernel logged no unresolved symbol and
no symbol version (CRC) mismatch for it.  The kernel's own module loader is
the oracle.  On a kernel with all of it built in (the lean profile) there
is nothing to load: the test skips and says so.
"""

import re

import pytest

from . import features
from .cmd import cmd

# what the module loader logs when a module cannot bind its symbols
_LOADER_ERRORS = re.compile(r"(Unknown symbol|disagrees about version of symbol"
                            r"|no symbol version for)")


def _modular() -> dict[str, str]:
    """symbol -> module, for the series' code this kernel has as modules."""
    cfg = features.config_or_skip()
    return {s: m for s, m in features.MODULES.items() if cfg.get(s) == "m"}


def test_series_modules_load():
    modular = _modular()
    if not modular:
        pytest.skip("the series' code is built in (no CONFIG_..=m among "
                    f"{', '.join(sorted(features.MODULES))})")
    before = cmd(["dmesg"]).stdout
    for module in modular.values():
        features.load(module)
    missing = sorted(set(modular.values()) - features.loaded())
    assert not missing, f"modprobe succeeded but not in /proc/modules: {missing}"
    after = cmd(["dmesg"]).stdout
    new = after[len(before):] if after.startswith(before) else after  # ring buffer wrapped
    bad = [ln for ln in new.splitlines() if _LOADER_ERRORS.search(ln)]
    assert not bad, "the module loader refused symbols:\n" + "\n".join(bad)
    print(f"# loaded: {', '.join(f'{m} (CONFIG_{s}=m)' for s, m in sorted(modular.items()))}")
