"""Ignite engines and handlers of the PRISM pretraining bundle (checkpoints and seeding: ``prism.bundle``).

- :mod:`prism.engines.objectives`: the four pretraining objectives and the Table 5 ablation switches;
- :mod:`prism.engines.trainer`: the pretraining iteration (generator + discriminator steps, AMP, schedulers);
- :mod:`prism.engines.schedules`: warm-up + cosine learning-rate schedule;
- :mod:`prism.engines.handlers`: progress line, loss curves;
- :mod:`prism.engines.inference`: feature extraction and synthesis in a requested TR/TE/FA;
- :mod:`prism.engines.export`: ``prism export-encoder``.
"""

from __future__ import annotations

from prism.engines.inference import FeatureWriter, PredictionToKeysd, PrismFeatureExtractor, synthesize_contrast
from prism.engines.handlers import LossHistory, ProgressLogger, plot_loss_curves
from prism.engines.objectives import ABLATIONS, OBJECTIVES, PretrainObjectives, resolve_objectives
from prism.engines.schedules import WarmupCosineLR
from prism.engines.trainer import AmpState, PrismPretrainTrainer, step_output

__all__ = [
    "ABLATIONS",
    "OBJECTIVES",
    "AmpState",
    "FeatureWriter",
    "PredictionToKeysd",
    "PrismFeatureExtractor",
    "LossHistory",
    "PrismPretrainTrainer",
    "PretrainObjectives",
    "ProgressLogger",
    "WarmupCosineLR",
    "plot_loss_curves",
    "resolve_objectives",
    "step_output",
    "synthesize_contrast",
]
