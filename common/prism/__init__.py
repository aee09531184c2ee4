"""PRISM: a foundation model for 3D multi-sequence MRI, packaged as MONAI Bundles.

Sub-packages:
    networks    disentangled Swin encoder, P-space translator, discriminator, heads, weight I/O
    data        pretraining corpus (NIfTI/BIDS/DICOM), metadata, MRI simulator
    transforms  MONAI transforms for pretraining and fine-tuning
    losses      pretraining objectives
    engines     ignite engines used by the bundles
    evaluation  metrics, confidence intervals, significance tests, comparison tables
    tasks       registry of the paper's 44 downstream tasks
    bundle      helpers for bundle checks (offline metadata schema)
"""

from __future__ import annotations

__version__ = "0.1.0"
