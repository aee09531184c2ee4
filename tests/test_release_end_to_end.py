"""Download one bundle and run it, end to end: the release built twice gives identical bytes; served on 127.0.0.1,
a single-sequence, a multi-sequence and an external bundle are fetched with ``prism download`` and with
``python -m monai.bundle download``, and each one's inference runs from its unpacked folder in a process that
cannot see the repository (prism must come from the bundle folder); the use-one-bundle commands of
docs/release.md run as written; tampered and unsafe files are refused by the command line with clear messages.

Sizes are shrunk through the bundles' own override ids only (feature size 12, 64x32x32 windows, 6.25 mm voxels).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser
from release_support import REPO, STRIPPED_MONAI, serve

from generate_bundles import generated_tasks
from prism.data.synthetic import make_task_dataset, simulate_base_corpus
from prism.release.build import WeightsSpec, release
from prism.release.download import download
from prism.tasks import get_task

pytestmark = pytest.mark.slow

SINGLE, MULTI, EXTERNAL = "prism_amos_abdomen_seg", "prism_brats2021_tumour_seg", "prism_chaos_abdomen_seg"
TRAINED = (SINGLE, MULTI)  # the external bundle applies SINGLE's model
TINY = ["--feature_size", "12", "--roi_size", "[64,32,32]", "--pixdim", "[6.25,6.25,6.25]", "--sw_batch_size", "1",
        "--sw_overlap", "0.0", "--dataloader#num_workers", "0"]  # fmt: skip
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
TOOL_ENV = {**os.environ, "PYTHONPATH": str(REPO / "common")}  # `prism` commands use this checkout


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".release-" not in str(p)}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The release of every generated bundle, with untrained tiny weights published for the two trained ones,
    served on 127.0.0.1; built a second time into another folder to compare the bytes."""
    work = tmp_path_factory.mktemp("release")
    specs = []
    for name in TRAINED:
        parser = ConfigParser()
        parser.read_config(str(REPO / "bundles" / name / "configs" / "inference.json"))
        parser["feature_size"] = 12
        torch.manual_seed(0)
        torch.save(parser.get_parsed_content("network_def").state_dict(), work / f"{name}.pt")
        specs.append(WeightsSpec.parse(f"{name}:models/model.pt={work / f'{name}.pt'}"))
    names = [t.bundle_name for t in generated_tasks()]
    with serve(work / "site") as (url, handler):
        (work / "site").mkdir()
        index = release(work / "site", REPO, names, specs, base_url=url)
        release(work / "again", REPO, names, specs, base_url=url)
        yield {"dir": work / "site", "url": url, "index": index, "again": work / "again"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    corpus = simulate_base_corpus(root / "corpus", subjects=3, shape=40, spacing=5.0)
    return {name: make_task_dataset(get_task(name), corpus, root / name, splits=("test",)).parent
            for name in (SINGLE, MULTI, EXTERNAL)}  # fmt: skip


def test_the_release_is_byte_reproducible(site):
    first, second = _tree_hashes(site["dir"]), _tree_hashes(site["again"])
    assert first == second
    zips = {m.group(1) for n in first if (m := re.match(r"(.+)_v\d+\.\d+\.\d+\.zip$", n))}
    assert zips == {t.bundle_name for t in generated_tasks()}
    wheel = site["dir"] / site["index"]["package"]["wheel"]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "prism/release/download.py" in names and "prism/bundle/schema/meta_schema_20240725.json" in names
    info = json.loads((site["dir"] / "model_info.json").read_text())
    entry = site["index"]["bundles"][EXTERNAL]
    version = next(iter(entry))
    assert info[f"{EXTERNAL}_v{version}"]["checksum"] == entry[version]["sha256"]
    assert entry[version]["source_bundles"] == {SINGLE: next(iter(site["index"]["bundles"][SINGLE]))}


def _infer(bundle: Path, data_dir: Path, cwd: Path | None = None, extra: list[str] | None = None) -> dict:
    """Run the bundle's inference with the repository out of sight; return where prism came from."""
    args = ["run", "--config_file", str(bundle / "configs" / "inference.json"), "--dataset_dir", str(data_dir),
            "--output_dir", str(bundle / "eval"), *(extra or []), *TINY]  # fmt: skip
    result = subprocess.run([sys.executable, "-c", STRIPPED_MONAI, *args], cwd=cwd or bundle, env=CLEAN_ENV,
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    origin = json.loads(re.search(r"^PRISM_ORIGIN=(.*)$", result.stdout, re.M).group(1))
    assert not any(str(REPO) in p for p in origin["path"] if p), origin["path"]
    return origin


def _check_outputs(bundle: Path, data_dir: Path) -> None:
    task = get_task(bundle.name)
    allowed = {0, *(c.value for c in task.labels)}
    entries = json.loads((data_dir / "datalist.json").read_text())["test"]
    for entry in entries:
        first = data_dir / entry[task.input_keys[0]]
        pred = nib.load(bundle / "eval" / first.name.replace(".nii.gz", "_seg.nii.gz"))
        ref = nib.load(first)
        assert pred.shape == ref.shape and np.allclose(pred.affine, ref.affine, atol=1e-4)
        assert set(np.unique(np.asanyarray(pred.dataobj)).tolist()) <= allowed


def _use_one_bundle_commands() -> list[str]:
    """The commands of the use-one-bundle block in docs/release.md."""
    text = (REPO / "docs" / "release.md").read_text()
    block = re.search(r"<!-- use-one-bundle -->\s*```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_use_one_bundle_commands_work_as_written(site, data, tmp_path):
    download_line, run_line = _use_one_bundle_commands()
    download_args = shlex.split(download_line.replace("$PRISM_INDEX", site["url"] + "index.json"))
    assert download_args[:2] == ["prism", "download"]
    result = subprocess.run([sys.executable, "-m", "prism.cli", *download_args[1:]], cwd=tmp_path, env=TOOL_ENV,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    folder_part, run_part = run_line.split(" && ")
    bundle = tmp_path / shlex.split(folder_part)[1]
    run_args = shlex.split(run_part.replace("/data/amos", str(data[SINGLE])))
    assert run_args[:3] == ["python", "-m", "monai.bundle"] and bundle.name == SINGLE
    proc = subprocess.run([sys.executable, "-c", STRIPPED_MONAI, *run_args[3:], *TINY], cwd=bundle, env=CLEAN_ENV,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    origin = json.loads(re.search(r"^PRISM_ORIGIN=(.*)$", proc.stdout, re.M).group(1))
    assert origin["file"] == str(bundle / "prism" / "__init__.py")
    _check_outputs(bundle, data[SINGLE])


@pytest.mark.parametrize("name", [MULTI, EXTERNAL])
def test_prism_download_then_inference_from_the_unpacked_folder(site, data, tmp_path, name):
    folder = download(name, site["url"] + "index.json", tmp_path / "bundles", weights="models/model.pt")
    if name == EXTERNAL:
        assert (tmp_path / "bundles" / SINGLE / "models" / "model.pt").is_file()  # its source came too
    origin = _infer(folder, data[name])
    assert origin["file"] == str(folder / "prism" / "__init__.py")
    _check_outputs(folder, data[name])


@pytest.mark.parametrize("name", [SINGLE, MULTI, EXTERNAL])
def test_monai_bundle_download_then_inference_from_another_folder(site, data, tmp_path, name):
    needed = [name, *site["index"]["bundles"][name][next(iter(site["index"]["bundles"][name]))]["source_bundles"]]
    for bundle_name in needed:
        version = next(iter(site["index"]["bundles"][bundle_name]))
        url = f"{site['url']}{bundle_name}_v{version}.zip"
        result = subprocess.run([sys.executable, "-m", "monai.bundle", "download", "--name", bundle_name, "--url", url,
                                 "--bundle_dir", str(tmp_path / "bundles")], env=CLEAN_ENV, capture_output=True,
                                text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        unpacked = tmp_path / "bundles" / bundle_name
        with zipfile.ZipFile(site["dir"] / f"{bundle_name}_v{version}.zip") as archive:
            assert sorted(str(p.relative_to(tmp_path / "bundles")) for p in unpacked.rglob("*") if p.is_file()) == \
                sorted(archive.namelist())  # fmt: skip
        if bundle_name in TRAINED:  # what `monai.bundle download_large_files` fetches (it needs the internet here)
            shutil.copyfile(site["dir"] / "weights" / _published_file(site, bundle_name), unpacked / "models" / "model.pt")
    folder = tmp_path / "bundles" / name
    origin = _infer(folder, data[name], cwd=tmp_path, extra=["--bundle_root", str(folder)])
    assert origin["file"] == str(folder / "prism" / "__init__.py")  # found only once monai.bundle run added it
    _check_outputs(folder, data[name])


def _published_file(site: dict, name: str) -> str:
    listed = (site["dir"] / "weights").iterdir()
    return next(p.name for p in listed if p.name.startswith(name))


def test_ckpt_export_traces_a_segmentation_bundle(site, tmp_path):
    folder = download(SINGLE, site["url"] + "index.json", tmp_path / "bundles", weights="models/model.pt")
    args = ["ckpt_export", "network_def", "--filepath", "models/model.ts", "--ckpt_file", "models/model.pt",
            "--meta_file", "configs/metadata.json", "--config_file", "configs/inference.json", "--use_trace", "True",
            "--input_shape", "[1, 1, 64, 32, 32]", "--feature_size", "12"]  # fmt: skip
    result = subprocess.run([sys.executable, "-c", STRIPPED_MONAI, *args], cwd=folder, env=CLEAN_ENV,
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    traced = torch.jit.load(str(folder / "models" / "model.ts"), map_location="cpu")
    parser = ConfigParser()
    parser.read_config(str(folder / "configs" / "inference.json"))
    parser["feature_size"] = 12
    net = parser.get_parsed_content("network_def")
    net.load_state_dict(torch.load(folder / "models" / "model.pt", map_location="cpu", weights_only=True))
    x = torch.randn(1, 1, 64, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), net.eval()(x), rtol=1e-4, atol=1e-4)


def _cli_download(index_url: str, out: Path, name: str = SINGLE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prism.cli", "download", name, "--index", index_url, "--out", str(out),
                           "--weights", "models/model.pt"], env=TOOL_ENV, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_the_command_line_refuses_tampered_and_unsafe_files(site, tmp_path):
    copy = Path(shutil.copytree(site["dir"], tmp_path / "site"))
    entry = site["index"]["bundles"][SINGLE]
    zip_name = entry[next(iter(entry))]["file"]
    with serve(copy) as (url, _):
        index = json.loads((copy / "index.json").read_text())
        # Weight URLs in the zip name the original site: serve the tampered weight there instead.
        data = bytearray((copy / zip_name).read_bytes())
        data[len(data) // 3] ^= 0x01
        (copy / zip_name).write_bytes(bytes(data))
        result = _cli_download(url + "index.json", tmp_path / "a")
        assert result.returncode == 1 and "sha256" in result.stderr and "was deleted" in result.stderr
        assert not (tmp_path / "a" / SINGLE).exists()

        evil = zipfile.ZipFile(copy / "prism_evil_seg_v0.1.0.zip", "w")
        evil.writestr("prism_evil_seg/configs/metadata.json", "{}")
        evil.writestr("/etc/cron.d/evil", "x")
        evil.close()
        digest = hashlib.sha256((copy / "prism_evil_seg_v0.1.0.zip").read_bytes()).hexdigest()
        index["bundles"]["prism_evil_seg"] = {"0.1.0": {"file": "prism_evil_seg_v0.1.0.zip", "sha256": digest}}
        (copy / "index.json").write_text(json.dumps(index))
        result = _cli_download(url + "index.json", tmp_path / "b", "prism_evil_seg")
        assert result.returncode == 1 and "'/etc/cron.d/evil' is an absolute path" in result.stderr
        assert not (tmp_path / "b" / "prism_evil_seg").exists()

    weights = site["dir"] / "weights" / _published_file(site, SINGLE)
    original = weights.read_bytes()
    try:
        weights.write_bytes(original[:-1] + bytes([original[-1] ^ 0x01]))
        result = _cli_download(site["url"] + "index.json", tmp_path / "c")
        assert result.returncode == 1 and "models/model.pt" in result.stderr and "was deleted" in result.stderr
        assert not (tmp_path / "c" / SINGLE / "models" / "model.pt").exists()
    finally:
        weights.write_bytes(original)
