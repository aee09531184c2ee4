"""OASIS-1 (task 43): inter-subject brain registration of T1 MRI with anatomical labels.

Two releases are read:

- the official cross-sectional discs (``oasis_cross-sectional_disc1.tar.gz`` ...; Analyze 7.5 images)::

      disc1/OAS1_0001_MR1/PROCESSED/MPRAGE/T88_111/OAS1_0001_MR1_mpr_n4_anon_111_t88_masked_gfc.img + .hdr
      disc1/OAS1_0001_MR1/FSL_SEG/OAS1_0001_MR1_mpr_n4_anon_111_t88_masked_gfc_fseg.img + .hdr  (CSF/GM/WM)

  the atlas-registered, skull-stripped image and its FSL tissue labels, converted to NIfTI (nibabel's reading
  of the Analyze header);
- the neurite-oasis v1.0 edition used by Learn2Reg (``neurite-oasis.v1.0.tar``; NIfTI, 35 FreeSurfer labels)::

      OASIS_OAS1_0001_MR1/aligned_norm.nii.gz + aligned_seg35.nii.gz      referenced in place.

Only first sessions (``MR1``) are used. Subjects are split first; pairs are then formed within each list,
each subject registered onto the next one (sorted by id), as Learn2Reg's OASIS pairs are.
"""

from __future__ import annotations

import re

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.files import is_ignorable
from prism.data.convert.volumes import read_volume

__all__ = ["SPECS", "consecutive_pairs"]

_DISC_IMAGE = "PROCESSED/MPRAGE/T88_111/{s}_mpr_n4_anon_111_t88_masked_gfc.img"
_DISC_LABEL = "FSL_SEG/{s}_mpr_n4_anon_111_t88_masked_gfc_fseg.img"


def _add(run: Conversion, session: str, image: str, label: str) -> None:
    subject = session.rsplit("_", 1)[0]
    run.add(Case(subject, subject=subject, images={"image": image}, fields={"seg": label}))


def _discover(run: Conversion) -> None:
    for norm in run.glob("**/OASIS_OAS1_*_MR1/aligned_norm.nii.gz"):
        session = norm.parent.name.removeprefix("OASIS_")
        with run.attempt(session):
            _add(run, session, run.link(norm), run.link(norm.with_name("aligned_seg35.nii.gz")))
    sessions = sorted(p for p in run.source.glob("**/OAS1_*_MR1") if p.is_dir() and not is_ignorable(p, run.source))
    for folder in sessions:
        session = folder.name
        if not re.fullmatch(r"OAS1_\d{4}_MR1", session) or any(c.case == session[:9] for c in run.cases):
            continue  # another name, or a subject the neurite-oasis edition already gave
        with run.attempt(session):
            files = {}
            for key, pattern in (("image", _DISC_IMAGE), ("label", _DISC_LABEL)):
                volume = read_volume(run.require(folder / pattern.format(s=session)))
                array = volume.array[..., 0] if volume.array.ndim == 4 else volume.array
                files[key] = run.write(session.rsplit("_", 1)[0], key, array, volume.affine, label=key == "label")
            _add(run, session, files["image"], files["label"])


def consecutive_pairs(run: Conversion, cases: list[Case]) -> list[Case]:
    """Pairs within one list: each subject (sorted by id) moving onto the next one."""
    ordered = sorted(cases, key=lambda c: c.case)
    return [
        Case(
            f"{a.case}_to_{b.case}",
            subject=a.subject,
            images={"moving": a.images["image"], "fixed": b.images["image"]},
            fields={"moving_label": a.fields["seg"], "fixed_label": b.fields["seg"], "fixed_subject": b.subject},
        )
        for a, b in zip(ordered, ordered[1:])
    ]


SPECS = (
    DatasetSpec(
        name="oasis1",
        title="OASIS-1",
        tasks=("oasis1_brain_reg",),
        download="https://sites.wustl.edu/oasisbrains/home/oasis-1/",
        release="OASIS-1 cross-sectional discs 1-12 (Analyze), or neurite-oasis v1.0 (Learn2Reg's NIfTI edition)",
        licence="OASIS Data Use Agreement (OASIS-1: open access with attribution)",
        citation="Marcus et al., Open Access Series of Imaging Studies (OASIS): cross-sectional MRI data in young, "
        "middle aged, nondemented, and demented older adults, Journal of Cognitive Neuroscience 19(9):1498-1507 "
        "(2007); Hoopes et al., HyperMorph, IPMI (2021) for neurite-oasis",
        layout="disc1/OAS1_0001_MR1/PROCESSED/MPRAGE/T88_111/*_masked_gfc.img + FSL_SEG/*_fseg.img\n"
        "or OASIS_OAS1_0001_MR1/aligned_norm.nii.gz + aligned_seg35.nii.gz",
        discover=_discover,
        pairs=consecutive_pairs,
    ),
)
