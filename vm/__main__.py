# SPDX-License-Identifier: GPL-2.0-only
import sys

from mip6kit.cli import main

sys.exit(main())
