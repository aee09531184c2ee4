"""The segmentation family (tasks 1-25): SwinUNETR bundles, and external bundles that evaluate a source task's
model zero-shot."""

from __future__ import annotations

import json
from typing import Any

from bundlegen.common import base_metadata, check_yaml, common_files, environment, references, yaml_to_json

from prism.tasks import Task, get_task

__all__ = ["FAMILIES", "render"]

FAMILIES = ("organ_seg", "lesion_seg")
_SWINUNETR_REF = (
    "Hatamizadeh et al., Swin UNETR: Swin Transformers for Semantic Segmentation of Brain Tumors in MRI Images, "
    "BrainLes 2021"
)


def source_task(task: Task) -> Task | None:
    """The task whose trained model an external task evaluates (None for a task that trains its own)."""
    if not task.is_external:
        return None
    source = get_task(task.source_task)
    if len(source.channels) != len(task.channels):
        raise ValueError(
            f"{task.name}: source task {source.name} takes {len(source.channels)} channels, the target "
            f"{len(task.channels)}."
        )
    return source


def _source_to_target(task: Task, source: Task) -> dict[int, int]:
    """Output channel of the source model -> class index of the external task (0 when unmapped)."""
    mapping = {i: 0 for i in range(source.num_classes)}
    for entry in task.label_mapping:
        for name in entry.source:
            mapping[source.class_index(name)] = task.class_index(entry.target)
    return mapping


def _pred_values(task: Task, source: Task | None) -> dict[int, int]:
    """Network output channel -> value written in the predicted label map (the dataset's own values)."""
    values = {0: 0, **{i: c.value for i, c in enumerate(task.labels, start=1)}}
    if source is None:
        return values
    return {i: values[t] for i, t in _source_to_target(task, source).items()}


def _check_regions(task: Task) -> None:
    # The evaluate template builds regions with MONAI's BraTS transform: only that layout is supported.
    if task.regions and (
        task.class_names != ("NCR", "ED", "ET") or [r.name for r in task.regions] != ["TC", "WT", "ET"]
    ):
        raise ValueError(f"{task.name}: evaluation regions are supported for the BraTS NCR/ED/ET layout only.")


def _metadata(task: Task, source: Task | None, version: str, changelog: dict[str, str]) -> dict[str, Any]:
    net_task = source or task
    in_def = {str(i): c for i, c in enumerate(task.channels)}
    out_def = {"0": "background", **{str(i): c for i, c in enumerate(net_task.class_names, start=1)}}
    written = {"0": "background", **{str(c.value): c.name for c in task.labels}}
    kind = "external evaluation" if source else ("organ" if task.family == "organ_seg" else "lesion") + " segmentation"
    description = (
        f"PRISM task {task.number}: {kind} on {task.dataset} ({task.region}). "
        + (
            f"Applies the SwinUNETR trained by {source.bundle_name} zero-shot and maps its classes onto "
            f"{task.dataset}'s labels."
            if source
            else "SwinUNETR whose Swin encoder is initialised from PRISM (or a baseline via pretrained_source)."
        )
        + (f" Paper: {task.paper_note}." if task.paper_note else "")
    )
    patch_shape = ["32*n+32", "32*n+32", "32*n+32"]
    return {
        **base_metadata(task, version, changelog),
        "name": f"PRISM {task.dataset} {kind}",
        "task": f"{task.dataset} {kind} ({task.cohort} cohort)",
        "description": description,
        "image_classes": f"{len(task.channels)} MRI sequence(s) as channels: " + ", ".join(task.channels),
        "label_classes": ", ".join(f"{c.value}: {c.name}" for c in task.labels) + " (label-file values)",
        "pred_classes": ", ".join(f"{k}: {v}" for k, v in written.items()) + " (values in the saved label map)",
        # Results measured by this bundle only (none: no trained weights are distributed); the paper's figure is in
        # the README's Performance section, labelled as the paper's.
        "eval_metrics": {},
        "references": references(task, _SWINUNETR_REF),
        "network_data_format": {
            "inputs": {
                "image": {
                    "type": "image",
                    "format": "magnitude",
                    "modality": "MR",
                    "num_channels": len(task.channels),
                    "spatial_shape": patch_shape,
                    "dtype": "float32",
                    "value_range": [],
                    "is_patch_data": True,
                    "channel_def": in_def,
                }
            },
            "outputs": {
                "pred": {
                    "type": "image",
                    "format": "segmentation",
                    "num_channels": net_task.num_classes,
                    "spatial_shape": patch_shape,
                    "dtype": "float32",
                    "value_range": [0, 1],
                    "is_patch_data": True,
                    "channel_def": out_def,
                }
            },
            "post_processed_outputs": {
                "pred": {
                    "type": "image",
                    "format": "labels",
                    "num_channels": 1,
                    "spatial_shape": ["*", "*", "*"],
                    "dtype": "int16",
                    "value_range": sorted(int(v) for v in written),
                    "channel_def": written,
                }
            },
        },
    }


def _example_entry(task: Task) -> str:
    entry = {k: f"case001/case001_{c.lower()}.nii.gz" for k, c in zip(task.input_keys, task.channels)}
    entry["label"] = "case001/case001_label.nii.gz"
    return json.dumps(entry, indent=2)


def _models_readme(source: Task | None) -> str:
    if source:
        return (
            "Weights are not committed.\n\n"
            f"This external-evaluation bundle uses `{source.bundle_name}`'s `models/model.pt`. The source bundle is found by\n"
            "name next to this one (where `prism download` and `monai.bundle download --bundle_dir` put it), in the\n"
            "folders named in `$PRISM_BUNDLES`, or in MONAI's download folder; `--source_bundle PATH` chooses one.\n"
        )
    return (
        "Weights are not committed.\n\n"
        "- `model.pt`: written by training (best validation mean Dice); read by evaluate and inference.\n"
        "- `prism_encoder.pt`: PRISM encoder weights (the pretraining bundle's encoder export), used by\n"
        "  `pretrained_source: prism`; `model_swinvit.pt` (`swinunetr_ssl`) and `brainsegfounder.pt`\n"
        "  (`brainsegfounder`) for the baselines.\n"
    )


def render(task: Task, version: str, changelog: dict[str, str]) -> dict[str, str]:
    """All files of a segmentation task's bundle, as relative path -> text."""
    _check_regions(task)
    source = source_task(task)
    env = environment()
    context = dict(
        task=task,
        source=source,
        net_task=source or task,
        metric_names=["val_mean_dice"] + (["val_region_dice"] if task.regions else []),
        output_classes=[(c.value, c.name) for c in task.labels],
        pred_values=_pred_values(task, source),
        source_to_target=_source_to_target(task, source) if source else {},
        example_entry=_example_entry(task),
        data_slug=task.name.rsplit("_", 1)[0],  # default dataset folder name, e.g. msd_prostate
    )
    files: dict[str, str] = {}
    if source is None:
        for name in ("train", "evaluate", "multi_gpu_train"):
            files[f"configs/{name}.yaml"] = env.get_template(f"seg/{name}.yaml.j2").render(context)
    else:
        files["configs/evaluate.yaml"] = env.get_template("seg/evaluate_external.yaml.j2").render(context)
    files["configs/inference.json"] = yaml_to_json(env.get_template("seg/inference.yaml.j2").render(context))
    files["configs/metadata.json"] = json.dumps(_metadata(task, source, version, changelog), indent=4) + "\n"
    files["docs/README.md"] = env.get_template("seg/README.md.j2").render(context)
    files["models/README.md"] = _models_readme(source)
    files.update(common_files())
    check_yaml(files)
    return files
