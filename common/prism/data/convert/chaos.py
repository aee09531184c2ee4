"""CHAOS, MR part (task 8, external): liver, kidneys and spleen on T2-SPIR.

Release: ``CHAOS_Train_Sets.zip`` from Zenodo 3431873 (the challenge's training data; the test sets have no
ground truth and cannot be evaluated on), unpacked as it comes::

    Train_Sets/MR/1/T2SPIR/DICOM_anon/IMG-0002-00001.dcm ...   one DICOM series
    Train_Sets/MR/1/T2SPIR/Ground/IMG-0002-00001.png ...       one PNG per slice, same names
    Train_Sets/MR/1/T1DUAL/...                                 (not this task's sequence)

The series becomes NIfTI (RAS) and the PNG slices are stacked in the same slice order into a label map. The
PNG grey levels are ranges (liver 55-70, right kidney 110-135, left kidney 175-200, spleen 240-255, as the
challenge documents them); each range is written as the registry's value of its class. Any other grey
level skips the case.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.layout import stem
from prism.data.convert.volumes import read_grid

__all__ = ["SPECS"]

# class -> inclusive PNG grey-level range (CHAOS data description)
_RANGES = {"liver": (55, 70), "right_kidney": (110, 135), "left_kidney": (175, 200), "spleen": (240, 255)}


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L") if image.mode not in ("L", "I", "I;16") else image)


def _label_slices(run: Conversion, pngs: list[np.ndarray]) -> np.ndarray:
    """PNG grey levels -> the registry's class values; other levels skip the case."""
    stack = np.stack(pngs, axis=-1)
    out = np.zeros(stack.shape, dtype=np.int16)
    known = stack == 0
    for name, (low, high) in _RANGES.items():
        inside = (stack >= low) & (stack <= high)
        out[inside] = run.task.labels[run.task.class_index(name) - 1].value
        known |= inside
    if not known.all():
        raise CaseSkip(f"PNG grey levels {sorted(np.unique(stack[~known]).tolist())[:10]} are in no organ's range")
    return out


def _discover(run: Conversion) -> None:
    from prism.data.dicom import read_dicom_header, slice_order

    for dicom_dir in sorted({p.parent for p in run.glob("**/MR/*/T2SPIR/DICOM_anon/*")}):
        patient = dicom_dir.parent.parent.name
        case = f"chaos_mr_{patient}"
        with run.attempt(case):
            files = run.glob("*", dicom_dir)
            image = run.dicom_series(files, case, run.task.input_keys[0])
            ground = dicom_dir.parent / "Ground"
            label = None
            if ground.is_dir():
                headers = [read_dicom_header(f, force=True) for f in files]
                ordered = [headers[i] for i in slice_order(headers)]
                pngs = {stem(p): p for p in run.glob("*.png", ground)}
                missing = [h.path.name for h in ordered if stem(h.path) not in pngs]
                if missing:
                    raise CaseSkip(f"no Ground PNG for slices {missing[:3]}")
                slices = [_png(pngs[stem(h.path)]) for h in ordered]
                size = (int(ordered[0].dataset.Rows), int(ordered[0].dataset.Columns))
                if any(s.shape != size for s in slices):
                    raise CaseSkip(f"Ground PNGs are not {size[0]}x{size[1]} like the DICOM slices")
                labels = np.transpose(_label_slices(run, slices), (1, 0, 2))  # the DICOM-to-NIfTI axis order
                _, affine = read_grid(run.resolve(image))
                label = run.write(case, "label", labels, affine, label=True)
            run.add(Case(case, subject=case, images=run.channel_keys({run.task.channels[0]: image}), label=label))


SPECS = (
    DatasetSpec(
        name="chaos",
        title="CHAOS (MR, T2-SPIR)",
        tasks=("chaos_abdomen_seg",),
        download="https://zenodo.org/records/3431873",
        release="CHAOS_Train_Sets.zip (Zenodo 3431873, v1.03)",
        licence="CC BY-SA 4.0",
        citation="Kavur et al., CHAOS challenge - combined (CT-MR) healthy abdominal organ segmentation, Medical "
        "Image Analysis 69:101950 (2021)",
        layout="Train_Sets/MR/1/T2SPIR/DICOM_anon/*.dcm\nTrain_Sets/MR/1/T2SPIR/Ground/*.png",
        discover=_discover,
    ),
)
