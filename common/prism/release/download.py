"""``prism download``: one bundle from a release index, checked before anything is unpacked, then the weights its
``large_files.yml`` lists, hashes checked, then (for an external bundle) the source bundle it evaluates.

    out/<bundle>/                   the unpacked bundle (its folder as the zip holds it)
    out/.prism/downloads/<zip>      the verified zip (a re-run checks it and the unpacked files against it)
    out/.prism/hashes.json          sha256 seen for weights published without a hash (checked on later downloads)

Nothing unverified is kept: a zip whose sha256 differs from the index's, or a weight file whose hash differs from
``large_files.yml``'s, is deleted and the download fails saying so; an unsafe zip (a member outside the bundle
folder, an absolute path, a link) is refused before anything is written. Existing files are never overwritten.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from prism.release.archive import UnsafeArchiveError, check_members, safe_unpack
from prism.release.fetch import IntegrityError, fetch, file_hash, join_location, read_location
from prism.release.index import latest_version, read_index, write_json

__all__ = ["DownloadError", "download", "download_command"]

_STATE = ".prism"


class DownloadError(RuntimeError):
    """Some files of a bundle could not be fetched or verified; the message lists each and why."""


def _say(message: str) -> None:
    print(message, flush=True)


def _entry(index: dict[str, Any], name: str, version: str | None, where: str) -> tuple[str, dict[str, Any]]:
    versions = index["bundles"].get(name)
    if not versions:
        have = ", ".join(sorted(index["bundles"])) or "none"
        raise ValueError(f"{where} has no bundle {name!r} (it has: {have}).")
    version = version or latest_version(versions)
    if version not in versions:
        raise ValueError(f"{where} has no version {version} of {name} (it has: {', '.join(sorted(versions))}).")
    return version, versions[version]


def _fetch_zip(location: str, entry: dict[str, Any], cache: Path) -> Path:
    """The bundle zip in ``cache``, downloaded unless a copy with the index's sha256 is there."""
    path = cache / entry["file"]
    if path.is_file():
        if file_hash(path) == entry["sha256"]:
            _say(f"{entry['file']}: already downloaded, sha256 verified")
            return path
        _say(f"{entry['file']}: the copy in {cache} does not match the index; fetching it again")
        path.unlink()
    fetch(location, path, entry["sha256"], what=entry["file"])
    _say(f"{entry['file']}: downloaded, sha256 {entry['sha256']} verified against the index")
    return path


def _differences(zip_path: Path, folder: Path, top: str) -> list[str]:
    """Files of the zip that are missing from, or differ in, an already unpacked ``folder``."""
    differing = []
    with zipfile.ZipFile(zip_path) as archive:
        for info in check_members(archive, top):
            on_disk = folder.parent.joinpath(*PurePosixPath(info.filename).parts)
            if not on_disk.is_file() or on_disk.read_bytes() != archive.read(info):
                differing.append(PurePosixPath(info.filename).relative_to(top).as_posix())
    return differing


def _unpack(zip_path: Path, out: Path, name: str) -> Path:
    folder = out / name
    try:
        if not folder.exists():
            safe_unpack(zip_path, out, name)
            _say(f"{name}: unpacked into {folder}")
            return folder
        differing = _differences(zip_path, folder, name)
    except UnsafeArchiveError:
        zip_path.unlink(missing_ok=True)
        raise
    if differing:
        shown = ", ".join(differing[:5]) + (f" and {len(differing) - 5} more" if len(differing) > 5 else "")
        raise FileExistsError(
            f"{folder} exists and differs from the release ({shown}); nothing was overwritten: move it away, or "
            "download into another --out folder."
        )
    _say(f"{name}: {folder} already holds this release's files")
    return folder


def _large_file_entries(folder: Path) -> list[dict[str, Any]]:
    path = folder / "large_files.yml"
    if not path.is_file():
        return []
    entries = (yaml.safe_load(path.read_text()) or {}).get("large_files", [])
    for entry in entries:
        rel = PurePosixPath(str(entry.get("path", "")))
        if not entry.get("url") or rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise UnsafeArchiveError(f"{path}: entry {entry!r} needs a url and a path inside the bundle folder.")
    return entries


def _requested(weights: str | Sequence[str]) -> list[str] | None:
    """The large_files.yml paths asked for; None for all."""
    if isinstance(weights, str):
        weights = [w.strip() for w in weights.split(",") if w.strip()]
    if list(weights) == ["all"]:
        return None
    return [] if list(weights) in ([], ["none"]) else list(weights)


def _fetch_weights(folder: Path, entries: list[dict[str, Any]], state_file: Path) -> list[str]:
    """Fetch each weight file unless a verified copy is there; return the problems (empty when all went well)."""
    seen = json.loads(state_file.read_text()) if state_file.is_file() else {}
    problems = []
    for entry in entries:
        rel, url = str(entry["path"]), str(entry["url"])
        dest = folder / rel
        published = str(entry.get("hash_val") or "") or None
        hash_type = str(entry.get("hash_type") or "sha256") if published else "sha256"
        expected = published or seen.get(url)
        what = f"{folder.name}/{rel}"
        try:
            if dest.is_file():
                if expected is None:
                    _say(f"{what}: exists; no hash published or recorded, so it was kept unverified")
                elif file_hash(dest, hash_type) == expected:
                    _say(f"{what}: exists, {hash_type} verified")
                else:
                    problems.append(
                        f"{what}: exists but is not the published file ({hash_type} differs from "
                        f"{'large_files.yml' if published else state_file}); it was kept: move it away to download it."
                    )
                continue
            sha256 = fetch(url, dest, expected, hash_type, what=what)
            if expected is None:
                seen[url] = sha256
                write_json(state_file, seen)
                _say(
                    f"{what}: downloaded from {url}; no hash is published for it: sha256 {sha256} (recorded in "
                    f"{state_file}: later downloads are checked against it)"
                )
            else:
                source = "large_files.yml" if published else state_file.name
                _say(f"{what}: downloaded, {hash_type} verified against {source}")
        except (IntegrityError, OSError) as err:
            problems.append(str(err) if str(err).startswith(what) else f"{what}: download from {url} failed ({err})")
    return problems


def download(
    name: str,
    index: str,
    out: str | os.PathLike,
    version: str | None = None,
    weights: str | Sequence[str] = "all",
) -> Path:
    """Download bundle ``name`` from the release ``index`` into ``out/name`` and return that folder.

    Args:
        name: bundle name, e.g. ``prism_amos_abdomen_seg``.
        index: the release's ``index.json``: an http(s) or file URL, or a path.
        out: folder the bundle (and the source bundle of an external one) is unpacked into.
        version: a version the index lists; default the highest (compared as numbers).
        weights: ``"all"`` (default), ``"none"``, or the ``large_files.yml`` paths to fetch
            (``models/model.pt,models/model_swinvit.pt``).

    Raises:
        IntegrityError: the zip's sha256 is not the index's (the zip was deleted).
        UnsafeArchiveError: a member would land outside the bundle folder (nothing was unpacked).
        FileExistsError: ``out/name`` holds other files than the release's (nothing was overwritten).
        DownloadError: some weight files failed (each named); the bundle itself is unpacked and verified.
        ValueError: an unknown bundle or version, or a weight path no downloaded bundle lists (checked after
            the downloads).
    """
    out = Path(out).resolve()
    index_data = read_index(read_location(index), index)
    requested, listed = _requested(weights), {}
    problems = _download_one(name, index, index_data, out, version, requested, listed)
    unknown = sorted(set(requested or []) - {p for paths in listed.values() for p in paths})
    if unknown:
        lists = "; ".join(f"{b}: {', '.join(sorted(paths)) or 'nothing'}" for b, paths in listed.items())
        raise ValueError(f"--weights {', '.join(unknown)}: not in large_files.yml of the bundles ({lists}).")
    if problems:
        raise DownloadError(f"{name}: {len(problems)} file(s) not downloaded:\n  " + "\n  ".join(problems))
    return out / name


def _download_one(
    name: str,
    index: str,
    index_data: dict[str, Any],
    out: Path,
    version: str | None,
    requested: list[str] | None,
    listed: dict[str, set[str]],
) -> list[str]:
    """Download one bundle and the bundles it needs; ``listed`` collects each one's large_files.yml paths."""
    version, entry = _entry(index_data, name, version, index)
    zip_path = _fetch_zip(join_location(index, entry["file"]), entry, out / _STATE / "downloads")
    folder = _unpack(zip_path, out, name)
    entries = _large_file_entries(folder)
    listed[name] = {str(e["path"]) for e in entries}
    chosen = entries if requested is None else [e for e in entries if str(e["path"]) in requested]
    problems = _fetch_weights(folder, chosen, out / _STATE / "hashes.json")
    for source, source_version in entry.get("source_bundles", {}).items():
        if source not in listed:
            _say(f"{name} evaluates {source}'s trained model: fetching {source} {source_version} too")
            problems += _download_one(source, index, index_data, out, source_version, requested, listed)
    return problems


def download_command(
    name: str, index: str, out: str = ".", version: str | None = None, weights: str = "all"
) -> None:
    """Download bundle NAME from the release INDEX (URL or path of index.json) into OUT/NAME, sha256 checked
    before unpacking; then the weights its large_files.yml lists (--weights all|none|PATH,...), hashes checked."""
    try:
        folder = download(name, index, out, version, weights)
    except (IntegrityError, UnsafeArchiveError, FileExistsError, DownloadError, ValueError, OSError) as err:
        print(f"prism download: {err}", file=sys.stderr)
        sys.exit(1)
    _say(f"{name}: ready in {folder}")
