"""CARE-Liver / LiQA (task 31): liver fibrosis stage (S1-S4) from multi-phase MRI.

Release: the CARE challenge LiQA data (MICCAI 2024-2025, "LiQA_training_data"), unpacked as it comes::

    LiQA_training_data/Vendor_A/1920-A-S1/T1.nii.gz, T2.nii.gz, DWI_800.nii.gz, GED1..GED4.nii.gz
    LiQA_training_data/Vendor_B1/..., Vendor_B2/...            (some cases miss some sequences)
    LiQA_val_data/Vendor_A/0001-A/...                          no stage: the test list

The stage is the folder name's ``-S<n>`` suffix; the vendor is the ``site``. The task has one input
sequence: ``--sequence GED4`` (default: the hepatobiliary phase, on which LiQA's liver masks are drawn) or
another of the seven; a case without it is skipped.
"""

from __future__ import annotations

import re

from prism.data.convert.core import Case, Conversion, DatasetSpec

__all__ = ["SPECS"]

_CASE = re.compile(r"^(?P<id>\d+)-(?P<vendor>[A-Z0-9]+)(?:-S(?P<stage>\d))?$")
_SEQUENCES = ("GED4", "GED3", "GED2", "GED1", "T1", "T2", "DWI_800")


def _discover(run: Conversion) -> None:
    sequence = run.options["sequence"]
    for folder in sorted({p.parent for p in run.glob("**/Vendor_*/*/*.nii.gz")}):
        match = _CASE.match(folder.name)
        if match is None:
            run.skip(folder.name, "folder name is not <id>-<vendor>[-S<stage>]")
            continue
        case = folder.name
        with run.attempt(case):
            stage = match.group("stage")
            fields = {"site": folder.parent.name}
            if stage is not None:
                fields["label"] = run.class_name(f"S{stage}")
            key = run.task.input_keys[0]
            run.add(
                Case(
                    case,
                    subject=match.group("id"),
                    images={key: run.link(folder / f"{sequence}.nii.gz")},
                    split=None if stage is not None else "test",
                    fields=fields,
                )
            )


SPECS = (
    DatasetSpec(
        name="careliver",
        title="CARE-Liver (LiQA)",
        tasks=("careliver_fibrosis_grade",),
        download="https://zmic.org.cn/care_2025/ (CARE-Liver / LiQA, after registration)",
        release="LiQA_training_data (Vendor_A, Vendor_B1, Vendor_B2) + LiQA_val_data",
        licence="challenge data terms (registration required; verify)",
        citation="Liu et al., Liver fibrosis quantification and analysis: the LiQA dataset and baseline method, "
        "arXiv:2512.07651 (2025)",
        layout="LiQA_training_data/Vendor_A/1920-A-S1/{T1,T2,DWI_800,GED1,GED2,GED3,GED4}.nii.gz",
        discover=_discover,
        options={"sequence": _SEQUENCES},
        defaults={"sequence": "GED4"},
    ),
)
