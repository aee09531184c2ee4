"""Release packaging without a network: reproducible zips, safe unpacking, the carried code's closure, the packages
and tested versions in the metadata, large_files.yml, and the index."""

from __future__ import annotations

import io
import json
import random
import stat
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

import prism
from prism.bundle import PUBLISHED_WEIGHTS
from prism.release.archive import UnsafeArchiveError, default_mode, safe_unpack, write_zip
from prism.release.build import bundle_zip
from prism.release.closure import ConfigError, bundle_closure, config_targets, read_configs
from prism.release.index import latest_version, model_info
from prism.runtime import MANIFEST_NAME

REPO = Path(__file__).resolve().parents[1]
BUNDLES = REPO / "bundles"
RESEARCH = ("prism.data", "prism.evaluation", "prism.engines", "prism.tasks", "prism.losses", "prism.transforms",
            "prism.cli", "prism.demo", "prism.release")  # fmt: skip


def test_zips_depend_on_the_contents_only(tmp_path):
    files = {f"b/f{i}.txt": bytes([i]) * (i * 100) for i in range(8)}
    shuffled = dict(random.Random(0).sample(list(files.items()), len(files)))
    first, second = write_zip(files, tmp_path / "a.zip"), write_zip(shuffled, tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(files)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {stat.S_IMODE(i.external_attr >> 16) for i in infos} == {0o644}
    assert list(tmp_path.glob(".*part")) == []
    assert stat.S_IMODE(first.stat().st_mode) == default_mode()  # readable like any new file, not mkstemp's 0600


def _zip(tmp_path: Path, name: str, link: bool = False) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bundle/configs/metadata.json", "{}")
        info = zipfile.ZipInfo(name)
        if link:
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd" if link else "evil")
    path = tmp_path / "evil.zip"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(
    "member, link, why",
    [
        ("bundle/../../evil.txt", False, "'..'"),
        ("/tmp/evil.txt", False, "absolute"),
        ("bundle/models/link.pt", True, "symbolic link"),
        ("other/evil.txt", False, "outside the bundle's top folder"),
        ("bundle\\..\\evil.txt", False, "backslash"),
    ],
)
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path, member, link, why):
    archive = _zip(tmp_path, member, link)
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError) as err:
        safe_unpack(archive, out, "bundle")
    assert why in str(err.value) and repr(member) in str(err.value)
    assert not out.exists() or list(out.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_unpacking_never_overwrites(tmp_path):
    archive = write_zip({"bundle/a.txt": b"release"}, tmp_path / "ok.zip")
    folder = safe_unpack(archive, tmp_path / "out", "bundle")
    assert (folder / "a.txt").read_bytes() == b"release"
    (folder / "a.txt").write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        safe_unpack(archive, tmp_path / "out", "bundle")
    assert (folder / "a.txt").read_bytes() == b"mine"


@pytest.fixture(scope="module")
def seg_closure():
    return bundle_closure(read_configs(BUNDLES / "prism_brats2021_tumour_seg"))


def test_a_segmentation_bundle_carries_the_runtime_only(seg_closure):
    assert "prism.bundle" in seg_closure.modules and "prism.runtime" in seg_closure.modules
    assert [m for m in seg_closure.modules if m.startswith(RESEARCH)] == []
    assert "prism/bundle/schema/meta_schema_20240725.json" in seg_closure.files
    assert seg_closure.distributions == ["einops", "fire", "itk", "nibabel", "pytorch-ignite", "pyyaml",
                                         "tensorboard"]  # fmt: skip


@pytest.mark.parametrize(
    "expression", ["$import prism", "$import prism.bundle", "$from prism.bundle import x", "$prism.bundle.f(@a)"]
)
def test_a_config_naming_prism_outside_a_target_is_refused(expression):
    configs = {"configs/inference.json": {"imports": ["$import os", expression], "a": 1}}
    with pytest.raises(ConfigError) as err:
        config_targets(configs)
    assert "configs/inference.json: imports#1" in str(err.value) and "_target_" in str(err.value)


def test_plain_monai_expressions_and_paths_are_fine():
    configs = {"c.json": {"x": "$@bundle_root + '/prism/x'", "y": "$monai.utils.first([1])", "z": "prism"}}
    assert config_targets(configs) == ([], [])


def test_generated_metadata_holds_pypi_packages_at_tested_versions(seg_closure):
    tested = json.loads((REPO / "tools" / "tested_versions.json").read_text())
    metadata = json.loads((BUNDLES / "prism_brats2021_tumour_seg" / "configs" / "metadata.json").read_text())
    assert metadata["required_packages_version"] == {d: tested["packages"][d] for d in seg_closure.distributions}
    assert metadata["carried_packages_version"] == {"prism-bundles": prism.__version__}
    assert metadata["eval_metrics"] == {}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == prism.__version__


def test_large_files_list_the_published_weights_in_the_model_zoo_format():
    listed = yaml.safe_load((BUNDLES / "prism_amos_abdomen_seg" / "large_files.yml").read_text())["large_files"]
    published = {f"models/{w.file}": w.url for w in PUBLISHED_WEIGHTS.values() if w.url}
    assert {e["path"]: e["url"] for e in listed} == published
    assert all(set(e) == {"path", "url", "hash_val", "hash_type"} for e in listed)  # MONAI passes them on as kwargs
    assert not (BUNDLES / "prism_chaos_abdomen_seg" / "large_files.yml").exists()  # external: trains nothing


def test_a_bundle_zip_holds_one_top_folder_with_the_carried_code(tmp_path):
    members, entry = bundle_zip(BUNDLES / "prism_chaos_abdomen_seg")
    assert {name.split("/")[0] for name in members} == {"prism_chaos_abdomen_seg"}
    manifest = json.loads(members[f"prism_chaos_abdomen_seg/prism/{MANIFEST_NAME}"])
    assert set(manifest["files"]) == {n.split("/prism/", 1)[1] for n in members if "/prism/" in n} - {MANIFEST_NAME}
    assert entry["source_bundles"] == ["prism_amos_abdomen_seg"]
    assert not any(n.endswith(".pt") for n in members)


def test_index_orders_versions_as_numbers_and_gives_the_model_zoo_view():
    assert latest_version({"0.9.0": {}, "0.10.0": {}, "0.2.1": {}}) == "0.10.0"
    index = {"bundles": {"b": {"0.1.0": {"file": "b_v0.1.0.zip", "sha256": "ab"}}}}
    assert model_info(index, "https://x.org/r/") == {"b_v0.1.0": {"checksum": "ab", "source": "https://x.org/r/b_v0.1.0.zip"}}
