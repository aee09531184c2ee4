"""What the bundles import at run time: input checks and loading, checkpoints and training handlers, encoder
initialisation, and the offline metadata schema (``schema/``).

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
from prism.bundle.pretrained import PRETRAINED_FILES, PRETRAINED_SOURCES, init_from_pretrained, pretrained_file

__all__ = [
    "PRETRAINED_FILES",
    "PRETRAINED_SOURCES",
    "AtomicCheckpointSaver",
    "BestWeightsSaver",
    "CheckLabelValuesd",
    "CheckVolumed",
    "IterationSeeder",
    "LoadSequencesd",
    "RequireInputsd",
    "ResumeCheckpointLoader",
    "StartOver",
    "ValidationState",
    "atomic_save",
    "case_name",
    "init_from_pretrained",
    "latest_checkpoint",
    "pretrained_file",
    "rank",
    "resume_path",
    "source_name",
    "world_size",
]
