"""Ignite engines and handlers of the PRISM pretraining bundle.

- :mod:`prism.engines.objectives`: the four pretraining objectives and the Table 5 ablation switches;
- :mod:`prism.engines.trainer`: the pretraining iteration (generator + discriminator steps, AMP, schedulers);
- :mod:`prism.engines.schedules`: warm-up + cosine learning-rate schedule;
- :mod:`prism.engines.checkpoint`: atomic checkpoints and resume;
- :mod:`prism.engines.handlers`: seeding for exact resume, progress line, loss curves;
- :mod:`prism.engines.inference`: feature extraction and synthesis in a requested TR/TE/FA;
- :mod:`prism.engines.export`: ``prism export-encoder``.
"""

from __future__ import annotations

from prism.engines.checkpoint import AtomicCheckpointSaver, ResumeCheckpointLoader, atomic_save, latest_checkpoint
from prism.engines.inference import FeatureWriter, PredictionToKeysd, PrismFeatureExtractor, synthesize_contrast
from prism.engines.handlers import IterationSeeder, LossHistory, ProgressLogger, plot_loss_curves
from prism.engines.objectives import ABLATIONS, OBJECTIVES, PretrainObjectives, resolve_objectives
from prism.engines.schedules import WarmupCosineLR
from prism.engines.trainer import AmpState, PrismPretrainTrainer, step_output

__all__ = [
    "ABLATIONS",
    "OBJECTIVES",
    "AmpState",
    "AtomicCheckpointSaver",
    "FeatureWriter",
    "PredictionToKeysd",
    "PrismFeatureExtractor",
    "IterationSeeder",
    "LossHistory",
    "PrismPretrainTrainer",
    "PretrainObjectives",
    "ProgressLogger",
    "ResumeCheckpointLoader",
    "WarmupCosineLR",
    "atomic_save",
    "latest_checkpoint",
    "plot_loss_curves",
    "resolve_objectives",
    "step_output",
    "synthesize_contrast",
]
