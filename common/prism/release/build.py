"""``prism release``: one reproducible zip per bundle, the index every download is checked against, and a wheel of
the shared package.

Each ``<out>/<bundle>_v<version>.zip`` holds one top folder named as the bundle (the layout ``monai.bundle
download`` unpacks): the bundle folder's files, and under ``prism/`` the part of the shared package its configs
use (``prism.release.closure``) with ``prism/runtime_manifest.json`` (each carried file's sha256, read by
``prism.runtime.check_runtime``). ``monai.bundle run`` puts the bundle folder on ``sys.path`` before it builds
the components, so ``_target_: prism.bundle.X`` then imports the carried code, and only the PyPI packages of
``required_packages_version`` need installing.

Releasing into a folder that already holds an index adds to it, and refuses to publish different bytes under a
name it already lists (bump the bundle's version instead).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from prism.release.archive import write_zip
from prism.release.closure import SHARED_PACKAGE, BundleClosure, bundle_closure, read_configs
from prism.release.index import empty_index, latest_version, model_info, read_index, write_json
from prism.runtime import MANIFEST_NAME, file_sha256

__all__ = [
    "MAX_FILE_BYTES",
    "ReleaseError",
    "WeightsSpec",
    "bundle_names",
    "bundle_zip",
    "release",
    "release_command",
]

MAX_FILE_BYTES = 25 * 1024 * 1024  # the model zoo's cap on a file in a bundle; larger ones go in large_files.yml
_SKIPPED_DIRS = {"eval", "runs", "mlruns", "__pycache__", ".ipynb_checkpoints"}
_SKIPPED_SUFFIXES = (".pt", ".ts", ".pth", ".ckpt", ".onnx", ".pyc", ".db", ".part")
_WHEEL_EPOCH = "315532800"  # 1980-01-01: SOURCE_DATE_EPOCH for a reproducible wheel


class ReleaseError(ValueError):
    """A bundle that cannot be released as it is; the message names it and what to change."""


@dataclass(frozen=True)
class WeightsSpec:
    """A weight file published with the release: ``BUNDLES:PATH=FILE``, e.g.
    ``prism_amos_abdomen_seg:models/model.pt=runs/amos/model.pt`` (``BUNDLES`` may be a glob: ``prism_*_seg``)."""

    bundles: str
    path: str
    file: Path

    @classmethod
    def parse(cls, text: str) -> WeightsSpec:
        bundles, sep, rest = text.partition(":")
        path, sep2, file = rest.partition("=")
        if not (sep and sep2 and bundles and path and file):
            raise ValueError(f"--weights {text!r}: expected BUNDLES:PATH=FILE, e.g. prism_x_seg:models/model.pt=m.pt")
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise ValueError(f"--weights {text!r}: PATH must lie inside the bundle folder.")
        if not Path(file).is_file():
            raise ValueError(f"--weights {text!r}: {file} is not a file.")
        return cls(bundles, Path(path).as_posix(), Path(file))


def _bundle_files(bundle: Path) -> dict[str, bytes]:
    """The files a bundle folder contributes to its zip (not what runs write: weights, eval/, runs/, logs)."""
    files = {}
    for path in sorted(bundle.rglob("*")):
        rel = path.relative_to(bundle)
        if not path.is_file() or any(p.startswith(".") or p in _SKIPPED_DIRS for p in rel.parts):
            continue
        if path.suffix in _SKIPPED_SUFFIXES:
            continue
        if rel.parts[0] == "prism":
            raise ReleaseError(f"{bundle}: has a prism/ folder; the release adds the carried code itself.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ReleaseError(
                f"{path}: {path.stat().st_size} bytes, over the model zoo's 25 MB per file: publish it with "
                "--weights (large_files.yml) instead."
            )
        files[rel.as_posix()] = path.read_bytes()
    return files


def _manifest(closure: BundleClosure, root: Path) -> dict[str, Any]:
    import prism

    return {
        "about": "The prism code this bundle's configs use, carried from the shared package (one source: "
        "common/prism of the PRISM bundles repository). Checked by prism.runtime: a process holds one prism.",
        "package": SHARED_PACKAGE,
        "version": prism.__version__,
        "modules": closure.modules,
        "files": {rel.split("/", 1)[1]: file_sha256(root / rel) for rel in closure.files},
    }


def _check_metadata(name: str, metadata: dict[str, Any], closure: BundleClosure) -> None:
    import prism

    where = f"{name}/configs/metadata.json"
    if metadata.get("version") not in metadata.get("changelog", {}):
        raise ReleaseError(f"{where}: version {metadata.get('version')!r} has no changelog entry.")
    required = metadata.get("required_packages_version", {})
    if SHARED_PACKAGE in required:
        raise ReleaseError(
            f"{where}: required_packages_version names {SHARED_PACKAGE}, which is not on PyPI; the release carries "
            f"its code: record it as \"carried_packages_version\": {{\"{SHARED_PACKAGE}\": \"{prism.__version__}\"}}."
        )
    missing = [d for d in closure.distributions if d not in required]
    if missing:
        raise ReleaseError(f"{where}: required_packages_version lacks {missing}, which its code needs.")
    carried = metadata.get("carried_packages_version")
    if carried != {SHARED_PACKAGE: prism.__version__}:
        raise ReleaseError(
            f"{where}: carried_packages_version is {carried!r}, but the release carries {SHARED_PACKAGE} "
            f"{prism.__version__}: regenerate the bundle (tools/generate_bundles.py --bump ...)."
        )


def _source_bundles(configs: dict[str, Any]) -> list[str]:
    """Bundles the configs look up by name (``_target_: prism.bundle.find_bundle``): an external bundle's source."""
    names = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("_target_") == "prism.bundle.find_bundle" and isinstance(node.get("name"), str):
                names.add(node["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(configs)
    return sorted(names)


def _large_files(files: dict[str, bytes], published: list[dict[str, str]], name: str) -> None:
    """Add the weights published with the release to the bundle's ``large_files.yml`` (in ``files``)."""
    if not published:
        return
    text = files.get("large_files.yml", b"large_files:\n").decode()
    listed = {e["path"]: e for e in (yaml.safe_load(text) or {}).get("large_files", [])}
    for entry in published:
        if entry["path"] in listed:
            raise ReleaseError(f"{name}: large_files.yml lists {entry['path']} already ({listed[entry['path']]['url']}).")
    lines = [text.rstrip("\n"), "# published with this release (prism release --weights)"]
    for entry in published:
        lines += [f"- path: {entry['path']}", f"  url: {entry['url']}", f"  hash_val: '{entry['hash_val']}'",
                  f"  hash_type: {entry['hash_type']}"]  # fmt: skip
    new = "\n".join(lines) + "\n"
    if [e["path"] for e in yaml.safe_load(new)["large_files"]] != [*listed, *(e["path"] for e in published)]:
        raise ReleaseError(f"{name}: large_files.yml does not end with its large_files list; cannot add weights.")
    files["large_files.yml"] = new.encode()


def bundle_zip(
    bundle: str | os.PathLike, published: list[dict[str, str]] | None = None
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The zip members of one bundle folder (archive name -> bytes) and its index entry (without hash and size).

    Raises:
        ReleaseError: the bundle cannot run from its zip as it is (see the message).
        ConfigError: a config names prism code other than in a ``_target_``.
    """
    import prism

    bundle = Path(bundle).resolve()
    name = bundle.name
    root = Path(prism.__file__).resolve().parents[1]
    metadata = json.loads((bundle / "configs" / "metadata.json").read_text())
    configs = read_configs(bundle)
    if not any(p.startswith("configs/inference.") for p in configs):
        raise ReleaseError(f"{name}: no configs/inference.json (the model zoo requires an inference config).")
    closure = bundle_closure(configs, root)
    _check_metadata(name, metadata, closure)
    files = _bundle_files(bundle)
    _large_files(files, published or [], name)
    manifest = _manifest(closure, root)
    members = {f"{name}/{rel}": data for rel, data in files.items()}
    members.update({f"{name}/{rel}": (root / rel).read_bytes() for rel in closure.files})
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    members[f"{name}/prism/{MANIFEST_NAME}"] = manifest_bytes
    entry = {
        "file": f"{name}_v{metadata['version']}.zip",
        "name": metadata.get("name", name),
        "task": metadata.get("task", ""),
        **{k: metadata[k] for k in ("monai_version", "pytorch_version", "numpy_version")},
        "required_packages_version": metadata["required_packages_version"],
        "carried_packages_version": metadata["carried_packages_version"],
        "runtime": {
            "modules": closure.modules,
            "bytes": sum(len((root / rel).read_bytes()) for rel in closure.files),
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        },
        "source_bundles": _source_bundles(configs),
    }
    return members, entry


def _build_wheel(root: Path, out: Path) -> Path:
    """A reproducible wheel of the shared package, built from a clean copy of the sources (no stale build/)."""
    with tempfile.TemporaryDirectory(prefix="prism-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for item in ("pyproject.toml", "README.md"):
            shutil.copy2(root / item, src / item)
        shutil.copytree(root / "common", src / "common", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        dist = Path(tmp) / "dist"
        code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(dist)!r}))"
        env = {**os.environ, "SOURCE_DATE_EPOCH": _WHEEL_EPOCH}
        result = subprocess.run([sys.executable, "-c", code], cwd=src, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ReleaseError(f"building the wheel failed:\n{result.stderr[-3000:]}")
        wheel = dist / result.stdout.strip().splitlines()[-1]
        target = out / wheel.name
        shutil.copyfile(wheel, target)
    return target


def _published_weights(
    specs: Sequence[WeightsSpec], names: list[str], base_url: str | None
) -> tuple[dict[str, list[dict[str, str]]], dict[str, Path]]:
    """Bundle -> the ``large_files.yml`` entries of the weights published with it, and the files to copy
    (``weights/<name>-<sha256[:16]>``: named by content, so one file serves every bundle that uses it)."""
    if specs and not base_url:
        raise ValueError("--weights needs --base_url: large_files.yml entries hold absolute URLs (MONAI reads them).")
    per_bundle: dict[str, list[dict[str, str]]] = {}
    copies: dict[str, Path] = {}
    for spec in specs:
        matched = [n for n in names if fnmatch.fnmatchcase(n, spec.bundles)]
        if not matched:
            raise ValueError(f"--weights {spec.bundles}: no bundle of this release matches.")
        digest = file_sha256(spec.file)
        stored = f"weights/{spec.file.stem}-{digest[:16]}{spec.file.suffix}"
        copies[stored] = spec.file
        entry = {"path": spec.path, "url": f"{base_url.rstrip('/')}/{stored}", "hash_val": digest, "hash_type": "sha256"}
        for name in matched:
            per_bundle.setdefault(name, []).append(entry)
    return per_bundle, copies


def bundle_names(root: Path) -> list[str]:
    """The bundle folders of a repository (``bundles/*`` with ``configs/metadata.json``)."""
    return sorted(p.name for p in (root / "bundles").iterdir() if (p / "configs" / "metadata.json").is_file())


def release(
    out: str | os.PathLike,
    root: str | os.PathLike = ".",
    only: Sequence[str] | None = None,
    weights: Sequence[WeightsSpec] = (),
    base_url: str | None = None,
    wheel: bool = True,
) -> dict[str, Any]:
    """Build the release of the bundles under ``root/bundles`` into ``out`` and return the index.

    Args:
        out: release folder: ``<bundle>_v<version>.zip``, ``index.json``, ``model_info.json``, the wheel and
            ``weights/`` (files published with ``weights``).
        root: the repository (``pyproject.toml``, ``bundles/``, ``common/prism``: the imported prism must be it).
        only: bundle folder names to release (default: every bundle); an external bundle's source must be
            released with it, or be in ``out/index.json`` already.
        weights: weight files published with the release, added to the matching bundles' ``large_files.yml``.
        base_url: where ``out`` will be served; needed for ``weights`` (absolute URLs in ``large_files.yml``)
            and written into ``model_info.json``.
        wheel: also build the shared package's wheel.

    Raises:
        ReleaseError, ConfigError: a bundle that cannot be released (nothing is written then).
        ValueError: bad arguments, or ``out`` lists a bundle version with other content (bump its version).
    """
    import prism

    root, out = Path(root).resolve(), Path(out).resolve()
    loaded = Path(prism.__file__).resolve().parent
    if loaded != root / "common" / "prism":
        raise ReleaseError(
            f"this process imported prism from {loaded}, not from the repository {root}: run with "
            f"PYTHONPATH={root / 'common'} (or pip install -e {root})."
        )
    all_names = bundle_names(root)
    names = list(only) if only else all_names
    unknown = sorted(set(names) - set(all_names))
    if unknown:
        raise ValueError(f"no such bundle under {root / 'bundles'}: {', '.join(unknown)}.")
    index = read_index((out / "index.json").read_text(), str(out / "index.json")) if (out / "index.json").is_file() \
        else empty_index()  # fmt: skip
    published, copies = _published_weights(weights, names, base_url)
    built = {}
    for name in names:
        members, entry = bundle_zip(root / "bundles" / name, published.get(name))
        built[name] = (members, entry)
    versions = {name: json.loads(members[f"{name}/configs/metadata.json"])["version"] for name, (members, _) in built.items()}
    for name, (members, entry) in built.items():
        sources = {}
        for source in entry["source_bundles"]:
            if source in versions:
                sources[source] = versions[source]
            elif source in index["bundles"]:
                sources[source] = latest_version(index["bundles"][source])
            else:
                raise ReleaseError(f"{name} evaluates {source}'s model: release {source} with it (--only ... {source}).")
        entry["source_bundles"] = sources
    out.mkdir(parents=True, exist_ok=True)
    staged = {}
    with tempfile.TemporaryDirectory(prefix=".release-", dir=out) as tmp:
        for name, (members, entry) in built.items():
            path = write_zip(members, Path(tmp) / entry["file"])
            entry["sha256"], entry["size"] = file_sha256(path), path.stat().st_size
            earlier = index["bundles"].get(name, {}).get(versions[name])
            if earlier and earlier["sha256"] != entry["sha256"]:
                raise ValueError(
                    f"{out / 'index.json'} lists {name} {versions[name]} with other content (sha256 {earlier['sha256']}"
                    f", now {entry['sha256']}): bump the bundle's version (tools/generate_bundles.py --bump ...)."
                )
            staged[name] = path
        for stored, source in copies.items():
            (out / stored).parent.mkdir(parents=True, exist_ok=True)
            if not (out / stored).is_file() or file_sha256(out / stored) != file_sha256(source):
                shutil.copyfile(source, out / stored)
        for name, path in staged.items():
            os.replace(path, out / path.name)
            index["bundles"].setdefault(name, {})[versions[name]] = built[name][1]
    if wheel:
        wheel_path = _build_wheel(root, out)
        index["package"] = {"name": SHARED_PACKAGE, "version": prism.__version__, "wheel": wheel_path.name,
                            "sha256": file_sha256(wheel_path), "size": wheel_path.stat().st_size}  # fmt: skip
    write_json(out / "index.json", index)
    write_json(out / "model_info.json", model_info(index, base_url))
    return index


def release_command(
    out: str,
    root: str = ".",
    only: str | Sequence[str] | None = None,
    weights: str | Sequence[str] | None = None,
    base_url: str | None = None,
    wheel: bool = True,
) -> None:
    """Build every bundle (or ``--only NAME[,NAME]``) into OUT as reproducible zips, with index.json,
    model_info.json and the shared package's wheel; ``--weights BUNDLES:PATH=FILE`` (with ``--base_url``)
    publishes weight files in the bundles' large_files.yml."""
    names = [n.strip() for n in only.split(",")] if isinstance(only, str) else only
    specs = [WeightsSpec.parse(w) for w in ([weights] if isinstance(weights, str) else weights or [])]
    index = release(out, root, names, specs, base_url, wheel)
    for name in names or bundle_names(Path(root)):
        version = json.loads((Path(root) / "bundles" / name / "configs" / "metadata.json").read_text())["version"]
        entry = index["bundles"][name][version]
        kib, modules = entry["size"] / 1024, len(entry["runtime"]["modules"])
        print(f"{entry['file']:<48} {kib:7.1f} KiB  sha256 {entry['sha256'][:16]}  carries {modules} prism modules")
    if index.get("package"):
        print(f"{index['package']['wheel']}  sha256 {index['package']['sha256'][:16]}")
    print(f"index: {Path(out) / 'index.json'}")
