# SPDX-License-Identifier: GPL-2.0-only
"""Config profiles: the lean MIP6 fragment, plus what a purpose needs.

  lean       the kselftest fragment of the mip6 selftests (the default)
  selftests  lean + what the upstream net selftests of `mip6kit selftests` need
  debug      lean + KASAN, UBSAN bounds, lockdep, DEBUG_NET (the fuzz campaign)

A profile other than lean is the lean fragment merged with
vm/profiles/<profile>.config (sorted, the profile's value wins), written
into the scratch tree beside its build dirs.  The build dir is named by the
merged fragment's hash, so each profile has its own build dir and a
profile never disturbs the lean build.
"""

from pathlib import Path

from . import kconfig, resources
from .errors import MipError
from .scratch import STATE_PREFIX

LEAN = "lean"
FRAGMENT = Path("tools/testing/selftests/net/mip6/config")  # in the scratch tree
PROFILE_DIR = resources.profiles()


def names() -> list[str]:
    return [LEAN] + sorted(p.stem for p in PROFILE_DIR.glob("*.config"))


def _lines(path: Path) -> dict[str, str]:
    """symbol -> its fragment line (comments dropped)."""
    settings = kconfig.parse_config_text(path.read_text(), str(path), strict=True)
    return {name: (f"# CONFIG_{name} is not set" if st.value == "n"
                   else f"CONFIG_{name}={st.value}") for name, st in settings.items()}


def fragment(src: Path, profile: str, write: bool = True) -> tuple[Path, str | None]:
    """The fragment to configure the scratch tree src with, and its text
    (None when the scratch tree is not there yet, as in a dry run).  With
    write=False the merged fragment is only computed."""
    lean = src / FRAGMENT
    if profile != LEAN and not (PROFILE_DIR / f"{profile}.config").is_file():
        raise MipError(f"unknown profile {profile!r}; choose one of {', '.join(names())}")
    if not lean.is_file():
        return lean, None
    if profile == LEAN:
        return lean, lean.read_text()
    merged = _lines(lean) | _lines(PROFILE_DIR / f"{profile}.config")
    text = "".join(line + "\n" for line in sorted(merged.values()))
    path = src / f"{STATE_PREFIX}-fragment-{profile}"
    if write and (not path.is_file() or path.read_text() != text):
        path.write_text(text)  # unchanged content keeps its mtime
    return path, text
