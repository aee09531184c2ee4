"""What a released bundle relies on at run time: the guard against two different prism codes in one process, the
source-bundle lookup of external bundles, and the missing-weights message."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch.nn as nn

import prism.bundle
import prism.networks
from prism.bundle import BUNDLES_ENV, find_bundle, init_from_pretrained
from prism.runtime import MANIFEST_NAME, RuntimeConflictError, file_sha256, loaded_root


def _carried_runtime(folder: Path, files: dict[str, str]) -> Path:
    """A bundle folder carrying a prism whose manifest lists ``files`` (relative path -> sha256)."""
    (folder / "prism").mkdir(parents=True)
    manifest = {"package": "prism-bundles", "version": "9.9.9", "files": files}
    (folder / "prism" / MANIFEST_NAME).write_text(json.dumps(manifest))
    return folder


def _loaded_hashes(*relative: str) -> dict[str, str]:
    return {rel: file_sha256(loaded_root() / rel) for rel in relative}


def test_a_bundle_carrying_the_same_prism_code_runs_with_the_one_imported(tmp_path, monkeypatch):
    bundle = _carried_runtime(tmp_path / "same", _loaded_hashes("__init__.py", "bundle/loading.py"))
    monkeypatch.setattr(sys, "path", [str(bundle), *sys.path])
    assert prism.bundle.LoadSequencesd.__name__ == "LoadSequencesd"


def test_a_bundle_carrying_other_prism_code_fails_clearly_at_the_first_lookup(tmp_path, monkeypatch):
    files = {**_loaded_hashes("__init__.py"), "bundle/loading.py": "0" * 64}
    bundle = _carried_runtime(tmp_path / "older", files)
    monkeypatch.setattr(sys, "path", [*sys.path, str(bundle)])  # anywhere on the path
    for lookup in (lambda: prism.bundle.LoadSequencesd, lambda: prism.networks.load_encoder):
        with pytest.raises(RuntimeConflictError) as err:
            lookup()
        message = str(err.value)
        assert str(bundle) in message and "bundle/loading.py" in message and "9.9.9" in message
        assert "own process" in message
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(bundle)])
    assert prism.bundle.LoadSequencesd is not None


def test_a_carried_module_the_imported_prism_lacks_is_a_conflict(tmp_path, monkeypatch):
    bundle = _carried_runtime(tmp_path / "newer", {"bundle/classification.py": "1" * 64})
    monkeypatch.setattr(sys, "path", [str(bundle), *sys.path])
    with pytest.raises(RuntimeConflictError, match="bundle/classification.py"):
        _ = prism.bundle.init_from_pretrained


def test_find_bundle_looks_next_to_the_bundle_then_in_the_named_folders(tmp_path, monkeypatch):
    def make(folder: Path) -> Path:
        (folder / "configs").mkdir(parents=True)
        (folder / "configs" / "metadata.json").write_text("{}")
        return folder

    monkeypatch.delenv(BUNDLES_ENV, raising=False)
    external = make(tmp_path / "downloads" / "prism_chaos_abdomen_seg")
    neighbour = make(tmp_path / "downloads" / "prism_amos_abdomen_seg")
    assert find_bundle("prism_amos_abdomen_seg", near=external) == str(neighbour)
    elsewhere = make(tmp_path / "shared" / "prism_amos_abdomen_seg")
    monkeypatch.setenv(BUNDLES_ENV, str(tmp_path / "shared"))
    assert find_bundle("prism_amos_abdomen_seg", near=external) == str(elsewhere)
    with pytest.raises(FileNotFoundError) as err:
        find_bundle("prism_msd_prostate_seg", near=external)
    message = str(err.value)
    assert str(tmp_path / "downloads") in message and str(tmp_path / "shared") in message
    assert "prism download prism_msd_prostate_seg" in message and "--source_bundle" in message
    with pytest.raises(ValueError):
        find_bundle("../prism_amos_abdomen_seg", near=external)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("swinunetr_ssl", ["prism download", "large_files.yml", "download_large_files", "model_swinvit.pt"]),
        ("brainsegfounder", ["prism download", "huggingface.co/smilelab/BrainSegFounder"]),
        ("prism", ["prism export-encoder", "prism download", "large_files.yml"]),
    ],
)
def test_a_missing_weight_file_says_how_to_get_it(tmp_path, source, expected):
    missing = tmp_path / "models" / "weights.pt"
    with pytest.raises(FileNotFoundError) as err:
        init_from_pretrained(nn.Identity(), missing, source=source)
    message = str(err.value)
    for part in [*expected, str(missing), "--pretrained_source scratch"]:
        assert part in message, (part, message)
