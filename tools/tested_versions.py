"""Write (or check) ``tools/tested_versions.json``: the monai, torch and numpy versions and those of every package a
generated bundle needs, as installed in this environment, which must be the one the tests (CI) run in.

    python tools/tested_versions.py           # rewrite the file from this environment
    python tools/tested_versions.py --check   # exit 1 and list the differences
    python tools/tested_versions.py --add PACKAGE   # also record a package a new bundle needs

After a rewrite, ``python tools/generate_bundles.py --bump "tested with ..."`` records the new versions in the
bundles' metadata. ``tests/test_tested_versions.py`` runs the check.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bundlegen package next to this file

from bundlegen.packaging import TESTED_VERSIONS_FILE, tested_versions  # noqa: E402

__all__ = ["environment_versions", "main", "version_differences"]


def _installed(distribution: str) -> str:
    """Installed version without a local build tag (``2.13.0+cpu`` -> ``2.13.0``, as PyPI names it)."""
    return importlib.metadata.version(distribution).split("+")[0]


def environment_versions(packages: list[str]) -> dict:
    """The tested-versions record for ``packages`` (canonical PyPI names) as installed here."""
    return {
        "monai": _installed("monai"),
        "torch": _installed("torch"),
        "numpy": _installed("numpy"),
        "packages": {p: _installed(p) for p in sorted(packages)},
    }


def _flat(record: dict) -> dict[str, str]:
    return {**{k: record[k] for k in ("monai", "torch", "numpy")}, **record["packages"]}


def version_differences(path: Path = TESTED_VERSIONS_FILE) -> list[str]:
    """``name: file X, installed Y`` for each entry of the file that differs from this environment."""
    recorded = tested_versions(path)
    want, have = _flat(recorded), _flat(environment_versions(list(recorded["packages"])))
    return [f"{name}: {path.name} says {want[name]}, installed {have[name]}" for name in want if want[name] != have[name]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on differences")
    parser.add_argument("--add", nargs="+", default=[], metavar="PACKAGE", help="also record these PyPI packages")
    args = parser.parse_args(argv)
    if args.check:
        problems = version_differences()
        print("\n".join(problems) or f"{TESTED_VERSIONS_FILE} matches this environment")
        return 1 if problems else 0
    packages = sorted(set(tested_versions()["packages"]) | set(args.add))
    TESTED_VERSIONS_FILE.write_text(json.dumps(environment_versions(packages), indent=2) + "\n")
    print(f"wrote {TESTED_VERSIONS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
