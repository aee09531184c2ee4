"""Datalist metadata -> tensors for the PRISM metadata heads, with a validity mask for unknown values."""

from __future__ import annotations

from typing import Hashable, Mapping

import torch
from monai.transforms import MapTransform

from prism.vocabulary import NUMERIC_KEYS, RECORD_KEYS, SEQUENCES, normalise_acquisition, region_index

__all__ = ["AcquisitionMetadatad"]


class AcquisitionMetadatad(MapTransform):
    """Turn a record's ``tr``, ``te``, ``flip_angle``, ``body_region`` and ``sequence`` into tensors.

    TR/TE/flip angle are normalised by :func:`prism.vocabulary.normalise_acquisition` (log scale
    for times); an unknown (null) value is 0 with ``valid`` False, so the loss skips it instead of learning a
    made-up number. The region is an index into ``BODY_REGIONS`` (-1 when unknown) and the sequence an index
    into :data:`prism.data.datalist.SEQUENCES`.

    Outputs: ``acquisition_key`` float32 (3,), ``valid_key`` bool (3,), ``region_key`` long scalar,
    ``sequence_key`` long scalar.

    Args:
        tr_key, te_key, fa_key, region_key_in, sequence_key_in: record keys to read.
        acquisition_key, valid_key, region_key, sequence_key: output keys.
        collatable: replace the record's nulls by NaN (numbers) or "" (text), so that a batch mixing known
            and unknown values collates (PyTorch's collate rejects None).

    Raises:
        ValueError: naming the image for negative/infinite values, an unknown region or sequence.
    """

    def __init__(
        self,
        tr_key: str = "tr",
        te_key: str = "te",
        fa_key: str = "flip_angle",
        region_key_in: str = "body_region",
        sequence_key_in: str = "sequence",
        acquisition_key: str = "acquisition",
        valid_key: str = "acquisition_valid",
        region_key: str = "region",
        sequence_key: str = "sequence_index",
        collatable: bool = True,
    ) -> None:
        super().__init__(keys=[tr_key, te_key, fa_key], allow_missing_keys=True)
        self.tr_key, self.te_key, self.fa_key = tr_key, te_key, fa_key
        self.region_key_in, self.sequence_key_in = region_key_in, sequence_key_in
        self.acquisition_key, self.valid_key = acquisition_key, valid_key
        self.region_key, self.sequence_key = region_key, sequence_key
        self.collatable = collatable

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        name = d.get("source") or d.get("image_path") or getattr(d.get("image"), "meta", {}).get("filename_or_obj")
        name = name or "<record>"
        try:
            values, valid = normalise_acquisition(d.get(self.tr_key), d.get(self.te_key), d.get(self.fa_key))
            region = region_index(d.get(self.region_key_in))
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from error
        sequence = d.get(self.sequence_key_in) or "other"
        if sequence not in SEQUENCES:
            raise ValueError(f"{name}: sequence must be one of {SEQUENCES}, got {sequence!r}.")
        d[self.acquisition_key] = values
        d[self.valid_key] = valid
        d[self.region_key] = torch.tensor(region, dtype=torch.long)
        d[self.sequence_key] = torch.tensor(SEQUENCES.index(sequence), dtype=torch.long)
        if self.collatable:
            for key in RECORD_KEYS:
                if key in d and d[key] is None:
                    d[key] = float("nan") if key in NUMERIC_KEYS else ""
        return d
