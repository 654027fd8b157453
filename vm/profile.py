# SPDX-License-Identifier: GPL-2.0-only
"""Config profiles: the lean MIP6 fragment, plus what a purpose needs.

  lean       the kselftest fragment of the mip6 selftests (the default)
  selftests  lean + what the upstream net selftests of `mip6kit selftests` need
  debug      lean + KASAN, UBSAN bounds, lockdep, DEBUG_NET (the fuzz campaign)
  modules    lean with the series' code as modules (modpost, module loading)
  distro     Debian's own config with the lean fragment and the series'
             code as modules merged on top (scripts/distro-campaign.sh)

A profile other than lean is the lean fragment merged with
vm/profiles/<profile>.config (sorted, the profile's value wins), written
into the scratch tree beside its build dirs.  The build dir is named by the
merged fragment's hash, so each profile has its own build dir and a
profile never disturbs the lean build.

A profile may name a distribution config to start from instead of
allnoconfig, with a line `# base-config: PATH`; {version} in PATH is the
tree's VERSION.PATCHLEVEL.  The merged fragment then records that file and
its hash, so that a new config package gets a new build dir.
"""

import lzma
import re
from dataclasses import dataclass
from pathlib import Path

from . import kconfig, resources, tree
from .cache import short_hash
from .errors import Exit, MipError
from .scratch import STATE_PREFIX

LEAN = "lean"
FRAGMENT = Path("tools/testing/selftests/net/mip6/config")  # in the scratch tree
PROFILE_DIR = resources.profiles()
_BASE = re.compile(r"^# base-config: (\S+)$", re.M)


@dataclass(frozen=True)
class Fragment:
    path: Path  # what make reads (KCONFIG_ALLCONFIG, or appended to the base)
    text: str | None  # None when the scratch tree is not there yet (a dry run)
    base: Path | None = None  # the distribution config merged under it


def names() -> list[str]:
    return [LEAN] + sorted(p.stem for p in PROFILE_DIR.glob("*.config"))


def _lines(path: Path) -> dict[str, str]:
    """symbol -> its fragment line (comments dropped)."""
    settings = kconfig.parse_config_text(path.read_text(), str(path), strict=True)
    return {name: (f"# CONFIG_{name} is not set" if st.value == "n"
                   else f"CONFIG_{name}={st.value}") for name, st in settings.items()}


def base_config(src: Path, profile_file: Path) -> Path | None:
    """The distribution config a profile starts from, or None (allnoconfig)."""
    m = _BASE.search(profile_file.read_text())
    if m is None:
        return None
    version = ".".join(tree.kernel_version(src).split(".")[:2])
    path = Path(m.group(1).replace("{version}", version))
    if not path.is_file():
        pkg = path.parent.name if path.parent.name.startswith("linux-config-") else None
        fix = (f"install it: apt-get install {pkg}" if pkg
               else "install the package that provides it")
        raise MipError(f"profile {profile_file.stem!r} starts from {path} (for a "
                       f"{version} tree), which is not there; {fix}", Exit.USAGE)
    return path


def read_base(path: Path) -> str:
    """A config file, xz-compressed (as /usr/src/linux-config-*) or not."""
    try:
        data = path.read_bytes()
        return (lzma.decompress(data) if path.suffix == ".xz" else data).decode()
    except (OSError, lzma.LZMAError, UnicodeDecodeError) as e:
        raise MipError(f"cannot read the base config {path}: {e}", Exit.USAGE) from e


def fragment(src: Path, profile: str, write: bool = True) -> Fragment:
    """The fragment to configure the scratch tree src with.  With
    write=False the merged fragment is only computed."""
    lean = src / FRAGMENT
    profile_file = PROFILE_DIR / f"{profile}.config"
    if profile != LEAN and not profile_file.is_file():
        raise MipError(f"unknown profile {profile!r}; choose one of {', '.join(names())}")
    if not lean.is_file():
        return Fragment(lean, None)
    if profile == LEAN:
        return Fragment(lean, lean.read_text())
    merged = _lines(lean) | _lines(profile_file)
    base = base_config(src, profile_file)
    if base is not None:  # the build dir's name is the text's hash
        merged[""] = f"# base-config: {base} {short_hash(base.read_bytes())}"
    text = "".join(line + "\n" for line in sorted(merged.values()))
    path = src / f"{STATE_PREFIX}-fragment-{profile}"
    if write and (not path.is_file() or path.read_text() != text):
        path.write_text(text)  # unchanged content keeps its mtime
    return Fragment(path, text, base)
