"""HaN-Seg (task 19): 30 head-and-neck organs at risk; the task's input is the T1 MR.

Release: ``HaN-Seg.zip`` from Zenodo record 7442914 (set 1, 42 cases), unpacked as it comes::

    HaN-Seg/set_1/case_01/case_01_IMG_CT.nrrd
    HaN-Seg/set_1/case_01/case_01_IMG_MR_T1.nrrd
    HaN-Seg/set_1/case_01/case_01_OAR_A_Carotid_L.seg.nrrd ...    one binary mask per organ, on the CT grid

The organs were delineated on the CT, and the MR is not registered to it. The converter merges the masks into
one label map on the CT grid (values from the registry) and brings the MR onto the same grid:
``--register rigid`` (default) registers MR to CT (mutual information, :mod:`prism.data.convert.registration`)
and records the metric per case; ``--register none`` resamples by the stored geometry only, for copies whose
MR the user has already aligned. Look at a few cases before training either way.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.masks import merge_masks
from prism.data.convert.volumes import read_volume, resample_to

__all__ = ["SPECS"]

_OAR = "_OAR_"


def _discover(run: Conversion) -> None:
    known = set(run.task.class_names)
    for ct_path in run.glob("**/case_*_IMG_CT.nrrd"):
        case = ct_path.name[: -len("_IMG_CT.nrrd")]
        with run.attempt(case):
            mr_path = run.require(ct_path.with_name(f"{case}_IMG_MR_T1.nrrd"))
            masks = {
                p.name.split(_OAR, 1)[1][: -len(".seg.nrrd")]: p
                for p in run.glob(f"{case}{_OAR}*.seg.nrrd", ct_path.parent)
            }
            unknown = sorted(set(masks) - known)
            if unknown:
                run.note(f"organs not in the registry, left out: {unknown}")
            ct, mr = read_volume(ct_path), read_volume(mr_path)
            if run.options["register"] == "rigid":
                from prism.data.convert.registration import register_rigid

                result = register_rigid(ct, mr)
                image = result.resampled
                run.note(
                    f"{case}: MR registered to CT (Mattes MI {result.metric:.3f}, {result.iterations} iterations)."
                )
            else:
                image = resample_to(mr, ct.shape, ct.affine, order=1)
            key = run.task.input_keys[0]
            label = merge_masks(run, case, {k: v for k, v in masks.items() if k in known}, ct.shape, ct.affine)
            run.add(Case(case, subject=case, images={key: run.write(case, key, image, ct.affine)}, label=label))


SPECS = (
    DatasetSpec(
        name="hanseg",
        title="HaN-Seg (MR T1, masks on CT)",
        tasks=("hanseg_oar_seg",),
        download="https://zenodo.org/records/7442914",
        release="HaN-Seg.zip (Zenodo 7442914, set_1)",
        licence="CC BY-NC-ND 4.0",
        citation="Podobnik et al., HaN-Seg: the head and neck organ-at-risk CT and MR segmentation dataset, "
        "Medical Physics 50(3):1917-1927 (2023)",
        layout="HaN-Seg/set_1/case_01/case_01_IMG_CT.nrrd, case_01_IMG_MR_T1.nrrd, case_01_OAR_<organ>.seg.nrrd",
        discover=_discover,
        options={"register": ("rigid", "none")},
        defaults={"register": "rigid"},
    ),
)
