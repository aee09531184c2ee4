"""Test setup shared by every test module: the repository's tools/ folder is importable (generator, benchmarks)."""

from __future__ import annotations

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.append(str(TOOLS))  # appended: it never shadows an installed package
