"""What the bundles import at run time: input checks and loading, checkpoints and training handlers, encoder
initialisation (and where published weights come from), finding a source bundle by name, and the offline metadata
schema (``schema/``). A released bundle carries these modules in its own folder (``prism release``).

It imports only the layers below it (``prism.vocabulary``, ``prism.networks``) and never the research tools
(simulator, corpus builder, statistics, CLI) or the pretraining trainer, so that a task bundle stays a small
runtime (``tests/test_package_layers.py`` checks both).
"""

from __future__ import annotations

from prism.bundle.checkpoint import AtomicCheckpointSaver, ResumeCheckpointLoader, atomic_save, latest_checkpoint
from prism.bundle.checks import CheckLabelValuesd, CheckVolumed, RequireInputsd, case_name, source_name
from prism.bundle.handlers import (
    BestWeightsSaver,
    IterationSeeder,
    StartOver,
    ValidationState,
    rank,
    resume_path,
    world_size,
)
from prism.bundle.loading import LoadSequencesd
from prism.bundle.pretrained import (
    PRETRAINED_FILES,
    PRETRAINED_SOURCES,
    PUBLISHED_WEIGHTS,
    PublishedWeights,
    init_from_pretrained,
    pretrained_file,
)
from prism.bundle.sources import BUNDLES_ENV, bundle_search_path, find_bundle
from prism.runtime import guarded_exports

__all__ = [
    "BUNDLES_ENV",
    "PRETRAINED_FILES",
    "PRETRAINED_SOURCES",
    "PUBLISHED_WEIGHTS",
    "AtomicCheckpointSaver",
    "BestWeightsSaver",
    "CheckLabelValuesd",
    "CheckVolumed",
    "IterationSeeder",
    "LoadSequencesd",
    "PublishedWeights",
    "RequireInputsd",
    "ResumeCheckpointLoader",
    "StartOver",
    "ValidationState",
    "atomic_save",
    "bundle_search_path",
    "case_name",
    "find_bundle",
    "init_from_pretrained",
    "latest_checkpoint",
    "pretrained_file",
    "rank",
    "resume_path",
    "source_name",
    "world_size",
]

# Every lookup of a name (each `_target_: prism.bundle.X`) first checks that no bundle on sys.path carries a prism
# different from this one (prism.runtime).
__getattr__, __dir__ = guarded_exports(globals())
