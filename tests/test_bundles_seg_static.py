"""The 25 generated segmentation bundles: committed = generated, complete, valid metadata, network shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from monai.bundle import ConfigParser, verify_metadata, verify_net_in_out

from prism.tasks import list_tasks

REPO = Path(__file__).resolve().parents[1]
import generate_bundles  # noqa: E402  (tools/, on sys.path through conftest.py)

SCHEMA = REPO / "common" / "prism" / "bundle" / "schema" / "meta_schema_20240725.json"
SEG_TASKS = list_tasks(segmentation=True)
NAMES = [t.name for t in SEG_TASKS]


def test_25_bundles_and_committed_equals_generated():
    assert len(SEG_TASKS) == 25
    assert sorted(p.name for p in (REPO / "bundles").glob("prism_*_seg")) == sorted(t.bundle_name for t in SEG_TASKS)
    assert generate_bundles.check_bundles() == []


def test_check_reports_edits_and_stale_files(tmp_path):
    generate_bundles.write_bundles(tmp_path, ["msd_hippocampus_seg"])
    assert generate_bundles.check_bundles(tmp_path, ["msd_hippocampus_seg"]) == []
    root = tmp_path / "prism_msd_hippocampus_seg"
    train = root / "configs" / "train.yaml"
    train.write_text(train.read_text().replace("max_epochs: 200", "max_epochs: 100"))
    (root / "configs" / "extra.yaml").write_text("a: 1\n")
    (root / "docs" / "README.md").unlink()
    (root / "models" / "model.pt").write_bytes(b"weights are user files")
    problems = generate_bundles.check_bundles(tmp_path, ["msd_hippocampus_seg"])
    assert len(problems) == 3
    assert any("train.yaml: differs" in p for p in problems) and any("README.md: missing" in p for p in problems)
    assert any("extra.yaml: not written" in p for p in problems)
    assert generate_bundles.main(["--check", "--out", str(tmp_path), "--only", "msd_hippocampus_seg"]) == 1


@pytest.mark.parametrize("task", SEG_TASKS, ids=NAMES)
def test_bundle_layout_and_metadata(task):
    root = REPO / "bundles" / task.bundle_name
    expected = ["LICENSE", "docs/README.md", "models/README.md", "configs/metadata.json", "configs/inference.json",
                "configs/evaluate.yaml", "configs/logging.conf"]  # fmt: skip
    if not task.is_external:
        expected += ["configs/train.yaml", "configs/multi_gpu_train.yaml"]
    assert all((root / f).is_file() for f in expected), [f for f in expected if not (root / f).is_file()]
    verify_metadata(meta_file=str(root / "configs" / "metadata.json"), filepath=str(SCHEMA))
    meta = json.loads((root / "configs" / "metadata.json").read_text())
    assert meta["version"] in meta["changelog"] and "not for diagnostic use" in meta["intended_use"]
    fmt = meta["network_data_format"]
    assert fmt["inputs"]["image"]["channel_def"] == {str(i): c for i, c in enumerate(task.channels)}
    net_task = generate_bundles.get_task(task.source_task) if task.is_external else task
    assert fmt["outputs"]["pred"]["num_channels"] == net_task.num_classes
    assert list(fmt["outputs"]["pred"]["channel_def"].values()) == ["background", *net_task.class_names]
    assert fmt["post_processed_outputs"]["pred"]["channel_def"] == {
        "0": "background", **{str(c.value): c.name for c in task.labels}
    }
    # One inference config: MONAI Label reads inference.json before inference.yaml, so a twin's edits would be lost.
    assert not (root / "configs" / "inference.yaml").exists()
    for name in ("README.md",):
        text = (root / "docs" / name).read_text()
        for section in ("## Model Overview", "## Data", "## Training configuration", "## Input", "## Output",
                        "## Performance", "## MONAI Bundle Commands", "## References", "## License"):  # fmt: skip
            assert section in text


@pytest.mark.parametrize("task", SEG_TASKS, ids=NAMES)
def test_verify_net_in_out(task):
    root = REPO / "bundles" / task.bundle_name
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(root / "configs" / "metadata.json"),
        config_file=str(root / "configs" / "inference.json"),
        n=1,
        **{"feature_size": 12, "network_def#depths": [1, 1, 1, 1], "network_def#num_heads": [1, 1, 1, 1]},
    )


def test_configs_override_by_id_and_define_property_ids(tmp_path):
    """Tunables are top-level ids; the train config has the ids MONAI's tools look up."""
    root = REPO / "bundles" / "prism_brats2021_tumour_seg"
    parser = ConfigParser()
    parser.read_config([str(root / "configs" / "train.yaml"), str(root / "configs" / "multi_gpu_train.yaml")])
    for key in ("bundle_root", "device", "dataset_dir", "network_def", "train#trainer", "train#dataset#data",
                "train#handlers", "validate#evaluator", "validate#handlers", "val_interval", "is_not_rank0",
                "train#sampler", "validate#sampler", "pretrained_source"):  # fmt: skip
        assert key in parser, key
    infer = ConfigParser()
    infer.read_config(str(root / "configs" / "inference.json"))
    for key in ("network_def", "preprocessing", "postprocessing", "inferer", "dataset", "evaluator", "handlers"):
        assert key in infer, key
    assert "#0#" not in (root / "configs" / "evaluate.yaml").read_text()  # no overrides by list index


def test_a_content_change_needs_a_version_bump(tmp_path):
    """--check catches a bundle whose files changed while its version did not; --bump bumps and records it."""
    versions = tmp_path / "bundle_versions.json"
    book = json.loads(generate_bundles.VERSIONS_FILE.read_text())
    name = "prism_msd_hippocampus_seg"
    old_version = max(book[name]["changelog"], key=lambda v: tuple(map(int, v.split("."))))
    book[name]["fingerprint"] = "0" * 64  # as if the templates had changed since the recorded version
    versions.write_text(json.dumps(book))
    out = tmp_path / "bundles"
    assert generate_bundles.check_bundles(out, [name], versions_file=versions) == [
        f"{name}: content changed without a version bump (run with --bump)"
    ]
    with pytest.raises(ValueError, match="changed without a version bump"):
        generate_bundles.write_bundles(out, [name], versions_file=versions)
    generate_bundles.write_bundles(out, [name], bump="a test change", level="patch", versions_file=versions)
    meta = json.loads((out / name / "configs" / "metadata.json").read_text())
    major, minor, patch = map(int, old_version.split("."))
    assert meta["version"] == f"{major}.{minor}.{patch + 1}" and meta["changelog"][meta["version"]] == "a test change"
    assert generate_bundles.check_bundles(out, [name], versions_file=versions) == []


@pytest.mark.parametrize("task", SEG_TASKS, ids=NAMES)
def test_configs_name_shared_code_only_in_targets(task):
    """`$import prism` runs before `monai.bundle run` puts the bundle folder on sys.path, so a released bundle,
    which carries the shared code in its folder, could not import it there; `_target_`s are imported when built."""
    for path in sorted(p for p in (REPO / "bundles" / task.bundle_name / "configs").glob("*.*") if p.name != "metadata.json"):
        text = path.read_text()
        assert "$import prism" not in text and "$prism." not in text, path
