"""PRISM: a foundation model for 3D multi-sequence MRI, packaged as MONAI Bundles.

Layers, bottom to top; each imports only from its own layer and the ones below (``tests/test_package_layers.py``):

    vocabulary  sequence names, datalist record keys, body regions, acquisition units and normalisation
    tasks       registry of the paper's 44 downstream tasks (the one place a task is described)
    networks    disentangled Swin encoder, P-space translator, discriminator, heads, weight I/O
    bundle      the bundles' runtime: input checks and loading, checkpoints, handlers, encoder initialisation,
                the offline metadata schema
    transforms  MONAI transforms for pretraining
    losses      pretraining objectives
    engines     the pretraining trainer, its handlers, feature extraction, encoder export
    data        research tools: pretraining corpus (NIfTI/BIDS/DICOM), MRI simulator, synthetic task data
    evaluation  research tools: metrics, confidence intervals, significance tests, comparison tables
    cli, demo   the ``prism`` command line

A task bundle imports ``prism.bundle`` (and through it a few ``prism.networks`` modules) at run time, never the
research tools or the pretraining trainer.
"""

from __future__ import annotations

__version__ = "0.1.0"
