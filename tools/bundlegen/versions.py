"""Per-bundle versions and changelogs, and the fingerprints that catch a change made without a version bump.

``tools/bundle_versions.json`` holds, per generated bundle, its changelog (version -> line) and the fingerprint of
the files the generator last wrote for it. A bundle's fingerprint is the sha256 of its rendered files with the
version and changelog left out, so it changes exactly when a template or a registry entry changes what the bundle
contains. ``generate_bundles.py --check`` fails when a fingerprint differs from the recorded one;
``generate_bundles.py --bump "what changed"`` bumps the version of every changed bundle, adds the line to its
changelog and records the new fingerprint; ``--amend`` records a further change under the current version
(before that version is released).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["VERSIONS_FILE", "BundleVersion", "VersionBook", "bump_version", "fingerprint"]

VERSIONS_FILE = Path(__file__).resolve().parents[1] / "bundle_versions.json"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_PLACEHOLDER = "0.0.0"


def _key(version: str) -> tuple[int, int, int]:
    match = _SEMVER.match(version)
    if not match:
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH.")
    return tuple(int(x) for x in match.groups())  # type: ignore[return-value]


def bump_version(version: str, level: str = "minor") -> str:
    """``0.2.0`` -> ``0.3.0`` (minor), ``0.2.1`` (patch) or ``1.0.0`` (major)."""
    major, minor, patch = _key(version)
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    if level == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise ValueError(f"level should be major, minor or patch, got {level!r}.")


def fingerprint(render: Callable[[str, dict[str, str]], dict[str, str]]) -> str:
    """sha256 of a bundle's files rendered with a placeholder version and an empty changelog."""
    digest = hashlib.sha256()
    for path, text in sorted(render(_PLACEHOLDER, {}).items()):
        digest.update(path.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


@dataclass
class BundleVersion:
    """A bundle's changelog (newest first when written) and its recorded fingerprint."""

    changelog: dict[str, str]
    fingerprint: str

    @property
    def version(self) -> str:
        return max(self.changelog, key=_key)

    def ordered_changelog(self) -> dict[str, str]:
        return dict(sorted(self.changelog.items(), key=lambda kv: _key(kv[0]), reverse=True))


class VersionBook:
    """The versions file: read, update per bundle, write back sorted (stable diffs)."""

    def __init__(self, path: Path = VERSIONS_FILE) -> None:
        self.path = Path(path)
        raw = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.bundles = {name: BundleVersion(dict(v["changelog"]), v["fingerprint"]) for name, v in raw.items()}

    def get(self, name: str) -> BundleVersion:
        if name not in self.bundles:
            raise KeyError(
                f"{name} has no entry in {self.path.name}: add one with `python tools/generate_bundles.py --bump "
                f"'first release' --only {name}`."
            )
        return self.bundles[name]

    def record(self, name: str, new_fingerprint: str, message: str, level: str = "minor") -> str:
        """Bump ``name`` (or create it at 0.1.0), add ``message`` to its changelog; return the new version."""
        entry = self.bundles.get(name)
        version = bump_version(entry.version, level) if entry else "0.1.0"
        changelog = dict(entry.changelog) if entry else {}
        changelog[version] = message
        self.bundles[name] = BundleVersion(changelog, new_fingerprint)
        return version

    def amend(self, name: str, new_fingerprint: str, message: str | None = None) -> str:
        """Record ``name``'s new content under its current version (a change made before that version is released);
        ``message`` is appended to the version's changelog line. Returns the version."""
        entry = self.get(name)
        if message:
            entry.changelog[entry.version] = f"{entry.changelog[entry.version]}; {message}"
        entry.fingerprint = new_fingerprint
        return entry.version

    def write(self) -> None:
        data = {
            name: {"changelog": v.ordered_changelog(), "fingerprint": v.fingerprint}
            for name, v in sorted(self.bundles.items())
        }
        self.path.write_text(json.dumps(data, indent=2) + "\n")
