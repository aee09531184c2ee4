"""PRISM data layer: datalists with acquisition metadata, the corpus builder, the MRI simulator, caching.

Submodules are imported on use (``from prism.data.simulator import simulate_corpus``) so that the
command line only pays for what it runs.
"""

from __future__ import annotations

__all__: list[str] = []
