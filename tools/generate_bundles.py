"""Render the task bundles from the task registry (``prism.tasks``) and the family templates in ``templates/``.

Each bundle is self-contained (plain MONAI configs, metadata, README, licence) and committed; ``--check``
fails when a committed bundle differs from what this script writes, so the registry and the templates
stay the one place to edit.

    python tools/generate_bundles.py            # (re)write every segmentation bundle under bundles/
    python tools/generate_bundles.py --check    # exit 1 and list the differences, writing nothing
    python tools/generate_bundles.py --only brats2021_tumour_seg --out /tmp/bundles
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import jinja2
import yaml

from prism.tasks import Task, get_task, list_tasks

__all__ = ["BUNDLES_DIR", "check_bundles", "main", "render_bundle", "write_bundles"]

REPO = Path(__file__).resolve().parents[1]
BUNDLES_DIR = REPO / "bundles"
TEMPLATES_DIR = Path(__file__).resolve().with_name("templates")
SCHEMA_URL = "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json"

# Bump the version and add a changelog line whenever a template or a registry entry changes the bundles.
VERSION = "0.2.0"
CHANGELOG = {
    "0.2.0": "training resumes from an atomic per-epoch checkpoint (resume, seed); best weights saved atomically; "
    "Dice with ignore_empty=False (no NaN for a class absent from a reference); multi-sequence inference "
    "takes `image` as one multi-channel file or a list of per-sequence files (MONAI Label); inference "
    "output_values: dataset | channels (the labels MONAI Label reads)",
    "0.1.0": "first release, generated from the PRISM task registry",
}
# The versions the bundles were tested with (fixed here, not read from the environment, so that the output
# does not depend on the machine that renders it).
TESTED_VERSIONS = {
    "monai_version": "1.6.1",
    "pytorch_version": "2.13.0",
    "numpy_version": "2.4.6",
    "required_packages_version": {
        "prism-bundles": "0.1.0",
        "nibabel": "5.4.2",
        "einops": "0.8.2",
        "itk": "5.4.7",
        "pytorch-ignite": "0.5.5",
    },
}
# Files only a user adds to a bundle folder; --check ignores them.
_USER_FILES = ("models/", "eval/", "runs/", "mlruns")


_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _flow_list(value) -> str:
    """A YAML flow list; plain identifiers stay unquoted, as in hand-written MONAI configs."""
    items = []
    for item in value:
        if isinstance(item, str) and not (_BARE.match(item) and item.lower() not in _YAML_WORDS):
            items.append(json.dumps(item))
        else:
            items.append(str(item))
    return "[" + ", ".join(items) + "]"


def _is_identity(mapping: dict[int, int]) -> bool:
    return all(int(k) == int(v) for k, v in mapping.items())


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["j"] = _flow_list
    env.filters["rstrip"] = str.rstrip
    env.filters["is_identity"] = _is_identity
    return env


def _source(task: Task) -> Task | None:
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


def _metadata(task: Task, source: Task | None) -> dict:
    net_task = source or task
    in_def = {str(i): c for i, c in enumerate(task.channels)}
    out_def = {"0": "background", **{str(i): c for i, c in enumerate(net_task.class_names, start=1)}}
    written = {"0": "background", **{str(c.value): c.name for c in task.labels}}
    figure = (
        {"paper_prism_mean_dice": round(task.paper_figure / 100.0, 4)} if task.paper_figure is not None else {}
    )
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
    return {
        "schema": SCHEMA_URL,
        "version": VERSION,
        "changelog": CHANGELOG,
        **TESTED_VERSIONS,
        "supported_apps": {},
        "name": f"PRISM {task.dataset} {kind}",
        "task": f"{task.dataset} {kind} ({task.cohort} cohort)",
        "description": description,
        "authors": "PRISM bundles contributors",
        "copyright": "Copyright (c) PRISM bundles contributors",
        "data_source": task.data_source or "see references",
        "data_type": "nifti or dicom",
        "image_classes": f"{len(task.channels)} MRI sequence(s) as channels: " + ", ".join(task.channels),
        "label_classes": ", ".join(f"{c.value}: {c.name}" for c in task.labels) + " (label-file values)",
        "pred_classes": ", ".join(f"{k}: {v}" for k, v in written.items()) + " (values in the saved label map)",
        "eval_metrics": figure,
        "intended_use": "Research only, not for diagnostic use. "
        + f"Data license: {task.data_license or 'see the data provider'}.",
        "references": [
            "Qiu et al., Large-scale Multi-sequence Pretraining for Generalizable MRI Analysis in Versatile "
            "Clinical Applications (PRISM)",
            "Hatamizadeh et al., Swin UNETR: Swin Transformers for Semantic Segmentation of Brain Tumors in MRI "
            "Images, BrainLes 2021",
            *([task.reference] if task.reference else []),
        ],
        "network_data_format": {
            "inputs": {
                "image": {
                    "type": "image",
                    "format": "magnitude",
                    "modality": "MR",
                    "num_channels": len(task.channels),
                    "spatial_shape": ["32*n+32", "32*n+32", "32*n+32"],
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
                    "spatial_shape": ["32*n+32", "32*n+32", "32*n+32"],
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


def render_bundle(task: Task) -> dict[str, str]:
    """All files of ``task``'s bundle, as relative path -> text."""
    if not task.is_segmentation:
        raise ValueError(f"{task.name}: only segmentation bundles are generated here (family {task.family}).")
    _check_regions(task)
    source = _source(task)
    env = _environment()
    metric_names = ["val_mean_dice"] + (["val_region_dice"] if task.regions else [])
    output_classes = [(c.value, c.name) for c in task.labels]
    context = dict(
        task=task,
        source=source,
        net_task=source or task,
        metric_names=metric_names,
        output_classes=output_classes,
        pred_values=_pred_values(task, source),
        source_to_target=_source_to_target(task, source) if source else {},
        example_entry=_example_entry(task),
        data_slug=task.name.rsplit("_", 1)[0],  # default dataset folder name, e.g. msd_prostate
    )
    files: dict[str, str] = {}
    if source is None:
        files["configs/train.yaml"] = env.get_template("seg/train.yaml.j2").render(context)
        files["configs/evaluate.yaml"] = env.get_template("seg/evaluate.yaml.j2").render(context)
        files["configs/multi_gpu_train.yaml"] = env.get_template("seg/multi_gpu_train.yaml.j2").render(context)
    else:
        files["configs/evaluate.yaml"] = env.get_template("seg/evaluate_external.yaml.j2").render(context)
    inference = env.get_template("seg/inference.yaml.j2").render(context)
    files["configs/inference.yaml"] = inference
    # monai.bundle.load() only reads JSON configs; the JSON twin holds the same content without comments.
    files["configs/inference.json"] = json.dumps(yaml.safe_load(inference), indent=4) + "\n"
    files["configs/metadata.json"] = json.dumps(_metadata(task, source), indent=4) + "\n"
    files["configs/logging.conf"] = (TEMPLATES_DIR / "seg" / "logging.conf").read_text()
    files["docs/README.md"] = env.get_template("seg/README.md.j2").render(context)
    files["LICENSE"] = (TEMPLATES_DIR / "seg" / "LICENSE").read_text()
    files["models/README.md"] = (
        f"Weights are not committed.\n\n"
        + (
            f"This external-evaluation bundle uses `../{source.bundle_name}/models/model.pt` (`--source_bundle`).\n"
            if source
            else "- `model.pt`: written by training (best validation mean Dice); read by evaluate and inference.\n"
            "- `prism_encoder.pt`: PRISM encoder weights (the pretraining bundle's encoder export), used by\n"
            "  `pretrained_source: prism`; `model_swinvit.pt` (`swinunetr_ssl`) and `brainsegfounder.pt`\n"
            "  (`brainsegfounder`) for the baselines.\n"
        )
    )
    for path, text in files.items():
        if path.endswith(".yaml"):
            yaml.safe_load(text)  # a template change that breaks YAML fails here, not in a user's run
    return files


def _tasks(names: list[str] | None) -> list[Task]:
    return [get_task(n) for n in names] if names else list_tasks(segmentation=True)


def write_bundles(out_dir: Path = BUNDLES_DIR, names: list[str] | None = None) -> list[Path]:
    """Write the bundles of ``names`` (default: all segmentation tasks) under ``out_dir``; return the files."""
    written = []
    for task in _tasks(names):
        for rel, text in render_bundle(task).items():
            path = Path(out_dir) / task.bundle_name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
            written.append(path)
    return written


def check_bundles(out_dir: Path = BUNDLES_DIR, names: list[str] | None = None) -> list[str]:
    """Differences between the bundles under ``out_dir`` and what the generator writes (empty when equal)."""
    problems = []
    tasks = _tasks(names)
    for task in tasks:
        root = Path(out_dir) / task.bundle_name
        expected = render_bundle(task)
        for rel, text in expected.items():
            path = root / rel
            if not path.exists():
                problems.append(f"{path}: missing")
            elif path.read_text() != text:
                problems.append(f"{path}: differs from the generator's output")
        if root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                rel = path.relative_to(root).as_posix()
                if rel not in expected and not rel.startswith(_USER_FILES):
                    problems.append(f"{path}: not written by the generator (stale?)")
    if names is None:
        known = {t.bundle_name for t in tasks}
        for path in sorted(Path(out_dir).glob("prism_*_seg")):
            if path.name not in known:
                problems.append(f"{path}: no segmentation task of that name in the registry")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on differences")
    parser.add_argument("--only", nargs="+", metavar="TASK", help="task or bundle names (default: all segmentation)")
    parser.add_argument("--out", type=Path, default=BUNDLES_DIR, help="bundles folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        problems = check_bundles(args.out, args.only)
        for line in problems:
            print(line)
        if problems:
            print(f"{len(problems)} difference(s): run `python tools/generate_bundles.py` and commit the result.")
            return 1
        print(f"bundles under {args.out} match the generator")
        return 0
    files = write_bundles(args.out, args.only)
    print(f"wrote {len(files)} files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
