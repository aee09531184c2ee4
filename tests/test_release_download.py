"""``prism download`` against a release served on 127.0.0.1: verified before unpacking, tampered or unsafe files
refused and deleted, interrupted downloads leaving nothing behind, re-runs skipping what is verified."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from release_support import REPO, publish_bundle, serve

from prism.release.archive import UnsafeArchiveError
from prism.release.download import DownloadError, download
from prism.release.fetch import IntegrityError
from prism.release.index import write_json

AMOS = "prism_amos_abdomen_seg"


@pytest.fixture
def release(tmp_path):
    """A release of the AMOS bundle whose large_files.yml lists a weight with a published hash and one without."""
    out = tmp_path / "release"
    (out / "weights").mkdir(parents=True)
    (out / "weights" / "model.pt").write_bytes(b"trained weights " * 1000)
    (out / "weights" / "encoder.pt").write_bytes(b"encoder weights " * 1000)
    with serve(out) as (url, handler):
        publish_bundle(out, REPO / "bundles" / AMOS, [
            {"path": "models/model.pt", "url": url + "weights/model.pt",
             "hash_val": hashlib.sha256((out / "weights" / "model.pt").read_bytes()).hexdigest(), "hash_type": "sha256"},
            {"path": "models/model_swinvit.pt", "url": url + "weights/encoder.pt", "hash_val": "", "hash_type": ""},
        ])  # fmt: skip
        yield out, url, handler


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.part"))


def test_download_checks_everything_and_a_rerun_skips_what_it_verified(release, tmp_path, capsys):
    out, url, _ = release
    folder = download(AMOS, url + "index.json", tmp_path / "dl")
    assert (folder / "configs" / "inference.json").is_file() and (folder / "prism" / "bundle" / "__init__.py").is_file()
    assert (folder / "models" / "model.pt").read_bytes() == (out / "weights" / "model.pt").read_bytes()
    seen = json.loads((tmp_path / "dl" / ".prism" / "hashes.json").read_text())
    encoder_sha = hashlib.sha256((out / "weights" / "encoder.pt").read_bytes()).hexdigest()
    assert seen == {url + "weights/encoder.pt": encoder_sha}
    printed = capsys.readouterr().out
    assert "verified against the index" in printed and f"no hash is published for it: sha256 {encoder_sha}" in printed
    download(AMOS, url + "index.json", tmp_path / "dl")
    printed = capsys.readouterr().out
    assert "already downloaded, sha256 verified" in printed and "already holds this release's files" in printed
    assert printed.count("exists, sha256 verified") == 2 and "downloaded from" not in printed


def test_a_tampered_zip_is_refused_and_deleted(release, tmp_path):
    out, url, _ = release
    zip_file = next(out.glob("*.zip"))
    data = bytearray(zip_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    zip_file.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="was deleted"):
        download(AMOS, url + "index.json", tmp_path / "dl")
    assert not (tmp_path / "dl" / AMOS).exists()
    assert [p.name for p in (tmp_path / "dl").rglob("*") if p.is_file()] == []


def test_a_tampered_weight_file_is_refused_and_deleted(release, tmp_path):
    out, url, _ = release
    (out / "weights" / "model.pt").write_bytes(b"other weights " * 1000)
    with pytest.raises(DownloadError) as err:
        download(AMOS, url + "index.json", tmp_path / "dl")
    assert f"{AMOS}/models/model.pt" in str(err.value) and "was deleted" in str(err.value)
    assert not (tmp_path / "dl" / AMOS / "models" / "model.pt").exists()
    assert (tmp_path / "dl" / AMOS / "configs" / "inference.json").is_file()  # the verified bundle stays


def test_a_weight_without_published_hash_is_checked_against_the_first_download(release, tmp_path):
    out, url, _ = release
    download(AMOS, url + "index.json", tmp_path / "dl")
    (tmp_path / "dl" / AMOS / "models" / "model_swinvit.pt").unlink()
    (out / "weights" / "encoder.pt").write_bytes(b"changed upstream " * 1000)
    with pytest.raises(DownloadError, match="model_swinvit.pt.*was deleted"):
        download(AMOS, url + "index.json", tmp_path / "dl")
    assert not (tmp_path / "dl" / AMOS / "models" / "model_swinvit.pt").exists()


def test_an_interrupted_download_leaves_no_file_behind(release, tmp_path):
    out, url, handler = release
    handler.truncated.add("weights/model.pt")
    with pytest.raises(DownloadError, match="models/model.pt.*broke off"):
        download(AMOS, url + "index.json", tmp_path / "dl", weights="models/model.pt")
    assert not (tmp_path / "dl" / AMOS / "models" / "model.pt").exists() and _leftovers(tmp_path / "dl") == []
    handler.truncated.clear()
    download(AMOS, url + "index.json", tmp_path / "dl", weights="models/model.pt")
    assert (tmp_path / "dl" / AMOS / "models" / "model.pt").is_file()


def test_a_zip_slip_archive_is_refused_before_anything_is_written(release, tmp_path):
    out, url, _ = release
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("prism_evil_seg/configs/metadata.json", "{}")
        archive.writestr("prism_evil_seg/../../escaped.txt", "outside")
    (out / "prism_evil_seg_v0.1.0.zip").write_bytes(buffer.getvalue())
    index = json.loads((out / "index.json").read_text())
    index["bundles"]["prism_evil_seg"] = {"0.1.0": {"file": "prism_evil_seg_v0.1.0.zip", "size": len(buffer.getvalue()),
                                                    "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}}
    write_json(out / "index.json", index)
    with pytest.raises(UnsafeArchiveError, match="'prism_evil_seg/../../escaped.txt'"):
        download("prism_evil_seg", url + "index.json", tmp_path / "dl" / "sub")
    assert not list(tmp_path.rglob("escaped.txt"))
    assert [p for p in (tmp_path / "dl").rglob("*") if p.is_file()] == []  # the unsafe zip was deleted too


def test_an_unpacked_bundle_that_was_changed_is_never_overwritten(release, tmp_path):
    _, url, _ = release
    folder = download(AMOS, url + "index.json", tmp_path / "dl", weights="none")
    (folder / "configs" / "inference.json").write_text("{}")
    with pytest.raises(FileExistsError, match="configs/inference.json"):
        download(AMOS, url + "index.json", tmp_path / "dl", weights="none")
    assert (folder / "configs" / "inference.json").read_text() == "{}"


def test_unknown_names_versions_and_weights_are_named(release, tmp_path):
    _, url, _ = release
    with pytest.raises(ValueError, match="no bundle 'prism_nothing'.*prism_amos_abdomen_seg"):
        download("prism_nothing", url + "index.json", tmp_path / "dl")
    with pytest.raises(ValueError, match="no version 9.0.0"):
        download(AMOS, url + "index.json", tmp_path / "dl", version="9.0.0")
    with pytest.raises(ValueError, match="models/nothing.pt: not in large_files.yml.*models/model.pt"):
        download(AMOS, url + "index.json", tmp_path / "dl", weights="models/nothing.pt")
