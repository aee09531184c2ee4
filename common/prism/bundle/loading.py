"""Loading of multi-sequence inputs in the forms a bundle meets at inference time.

A datalist names one file per sequence (``t1``, ``t1ce``, ...), but MONAI Label and most single-input tools send
one ``image``. :class:`LoadSequencesd` accepts all three forms and always yields ``image`` with the sequences as
channels, in the order the bundle's ``metadata.json`` ``channel_def`` declares.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from monai.transforms import (
    Compose,
    ConcatItemsd,
    DeleteItemsd,
    LoadImaged,
    ResampleToMatchd,
    Transform,
)

from prism.bundle.checks import CheckVolumed, RequireInputsd, case_name, source_name

__all__ = ["LoadSequencesd"]


class LoadSequencesd(Transform):
    """Load a multi-sequence case into ``image`` of shape (sequences, spatial...), whichever form it comes in.

    - ``image`` is one path: a file holding every sequence as a channel (a 4D NIfTI, channels last on disk);
      its channel count must match.
    - ``image`` is a list of paths: one file per sequence, in channel order.
    - no ``image``: one key per sequence (the datalist form of training and evaluation).

    Per-sequence files are resampled onto the first sequence's grid (a no-op when they share it), so the
    output geometry is the first file's; with one multi-channel file it is that file's.

    Args:
        sequences: datalist keys of the sequences, in channel order (e.g. ``["t1", "t1ce", "t2", "flair"]``).
        channels: display names of the sequences for error messages (default: ``sequences``).
        image_key: key of the single-input forms and of the output.
        mode: interpolation of the resampled sequences.

    Raises:
        ValueError: on fewer than two sequences or a ``channels`` of another length.
    """

    def __init__(
        self,
        sequences: Sequence[str],
        channels: Sequence[str] | None = None,
        image_key: str = "image",
        mode: str = "bilinear",
    ) -> None:
        self.sequences = tuple(sequences)
        self.channels = tuple(channels) if channels is not None else self.sequences
        if len(self.sequences) < 2:
            raise ValueError(f"LoadSequencesd: needs at least two sequences, got {list(self.sequences)}.")
        if len(self.channels) != len(self.sequences):
            raise ValueError(f"LoadSequencesd: {len(self.channels)} channel names for {len(self.sequences)} sequences.")
        if image_key in self.sequences:
            raise ValueError(f"LoadSequencesd: image_key {image_key!r} is also a sequence key.")
        self.image_key = image_key
        keys = list(self.sequences)
        self._load_file = Compose(
            [
                RequireInputsd([image_key]),
                LoadImaged(image_key, ensure_channel_first=True),
                CheckVolumed([image_key]),
            ]
        )
        self._load_sequences = Compose(
            [
                RequireInputsd(keys),
                LoadImaged(keys, ensure_channel_first=True),
                CheckVolumed(keys, channels=1),
                ResampleToMatchd(keys[1:], key_dst=keys[0], mode=mode),
                ConcatItemsd(keys, name=image_key, dim=0),
                DeleteItemsd(keys),
            ]
        )

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        case = case_name(d)
        n = len(self.sequences)
        order = ", ".join(self.channels)
        value = d.get(self.image_key)
        if value is not None:
            given = sorted(k for k in self.sequences if k in d)
            if given:
                raise ValueError(f"case {case!r}: give either {self.image_key!r} or the sequence keys, not both {given}.")
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(
                    f"case {case!r}: {self.image_key!r} lists {len(value)} file(s) but the bundle takes {n} "
                    f"sequences, in this order: {order}."
                )
            d.update(zip(self.sequences, value))
            del d[self.image_key]
        elif value is not None:
            d = self._load_file(d)
            found = d[self.image_key].shape[0]
            if found != n:
                raise ValueError(
                    f"{source_name(d, self.image_key)}: {found} channel(s), but the bundle takes {n} sequences as "
                    f"channels, in this order: {order}. Give one file with {n} channels or a list of {n} files."
                )
            return d
        return self._load_sequences(d)
