"""IXI (task 42): T1 to T2 and T1 to PD registration of healthy brains.

Release: ``IXI-T1.tar``, ``IXI-T2.tar``, ``IXI-PD.tar`` from brain-development.org, each extracted into a folder
of its own (the tars hold flat lists of files)::

    IXI-T1/IXI002-Guys-0828-T1.nii.gz
    IXI-T2/IXI002-Guys-0828-T2.nii.gz
    IXI-PD/IXI002-Guys-0828-PD.nii.gz

Each subject gives two pairs, ``moving`` T1 onto ``fixed`` T2 and onto ``fixed`` PD (case ids
``IXI002_T1_to_T2``, ``IXI002_T1_to_PD``), and ``site`` (Guys, HH, IOP). A subject missing T1 gives no pair; one
missing T2 or PD gives the other. IXI ships no anatomical labels: the Dice the paper reports needs labels
from elsewhere (e.g. an automatic segmentation), which the datalist can take as ``moving_label``/``fixed_label``.
"""

from __future__ import annotations

import re

from prism.data.convert.core import Case, Conversion, DatasetSpec

__all__ = ["SPECS"]

_NAME = re.compile(r"^(IXI\d{3})-([A-Za-z]+)-\d+-(T1|T2|PD)\.nii(\.gz)?$")


def _discover(run: Conversion) -> None:
    scans: dict[str, dict[str, object]] = {}
    sites = {}
    for path in run.glob("**/IXI*.nii*"):
        match = _NAME.match(path.name)
        if match:
            scans.setdefault(match.group(1), {})[match.group(3)] = path
            sites[match.group(1)] = match.group(2)
    for subject, files in sorted(scans.items()):
        if "T1" not in files:
            run.skip(subject, "no T1 (the moving image of both pairs)")
            continue
        for fixed in ("T2", "PD"):
            case = f"{subject}_T1_to_{fixed}"
            if fixed not in files:
                run.skip(case, f"no {fixed}")
                continue
            with run.attempt(case):
                run.add(
                    Case(
                        case,
                        subject=subject,
                        images={"moving": run.link(files["T1"]), "fixed": run.link(files[fixed])},
                        fields={"site": sites[subject]},
                    )
                )


SPECS = (
    DatasetSpec(
        name="ixi",
        title="IXI",
        tasks=("ixi_t1pd_reg",),
        download="https://brain-development.org/ixi-dataset/",
        release="IXI-T1.tar, IXI-T2.tar, IXI-PD.tar (NIfTI)",
        licence="CC BY-SA 3.0",
        citation="IXI dataset, Imperial College London, https://brain-development.org/ixi-dataset/",
        layout="IXI-T1/IXI002-Guys-0828-T1.nii.gz\nIXI-T2/IXI002-Guys-0828-T2.nii.gz\n"
        "IXI-PD/IXI002-Guys-0828-PD.nii.gz",
        discover=_discover,
    ),
)
