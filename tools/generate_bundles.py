"""Render the task bundles from the task registry (``prism.tasks``) and the family templates in ``templates/``.

Each bundle is self-contained (plain MONAI configs, metadata, README, licence) and committed; ``--check`` fails
when a committed bundle differs from what this script writes, or when a bundle's content changed without a bump
of its own version (``bundle_versions.json``), so the registry and the templates stay the one place to edit.

    python tools/generate_bundles.py --check                    # exit 1 and list the problems, writing nothing
    python tools/generate_bundles.py --bump "what changed"      # bump every changed bundle and (re)write them all
    python tools/generate_bundles.py --amend                    # record a change under the current, unreleased version
    python tools/generate_bundles.py                            # (re)write; refuses a change without --bump
    python tools/generate_bundles.py --only brats2021_tumour_seg --out /tmp/bundles
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bundlegen package next to this file

from bundlegen import renderer, supported  # noqa: E402
from bundlegen.versions import VERSIONS_FILE, VersionBook, fingerprint  # noqa: E402

from prism.tasks import TASKS, Task, get_task  # noqa: E402

__all__ = ["BUNDLES_DIR", "check_bundles", "generated_tasks", "main", "render_bundle", "write_bundles"]

REPO = Path(__file__).resolve().parents[1]
BUNDLES_DIR = REPO / "bundles"
# Files only a user adds to a bundle folder; --check ignores them.
_USER_FILES = ("models/", "eval/", "runs/", "mlruns")


def generated_tasks(names: list[str] | None = None) -> list[Task]:
    """The tasks named (with or without ``prism_``), or every task whose family has templates."""
    return [get_task(n) for n in names] if names else [t for t in TASKS if supported(t)]


def render_bundle(task: Task, book: VersionBook | None = None) -> dict[str, str]:
    """All files of ``task``'s bundle at its recorded version, as relative path -> text."""
    entry = (book or VersionBook()).get(task.bundle_name)
    return renderer(task)(entry.version, entry.ordered_changelog())


def _changed(task: Task, book: VersionBook) -> str | None:
    """The new fingerprint when ``task``'s bundle content differs from the recorded one, else None."""
    new = fingerprint(renderer(task))
    entry = book.bundles.get(task.bundle_name)
    return new if entry is None or entry.fingerprint != new else None


def write_bundles(
    out_dir: Path = BUNDLES_DIR,
    names: list[str] | None = None,
    bump: str | None = None,
    level: str = "minor",
    amend: bool = False,
    versions_file: Path = VERSIONS_FILE,
) -> list[Path]:
    """Write the bundles of ``names`` (default: all with templates) under ``out_dir``; return the files.

    A bundle whose content changed since its recorded version needs ``bump`` (the changelog line): its version
    is bumped by ``level`` and recorded; with ``amend`` the change is recorded under the current version instead
    (for a version not released yet). Without either, a changed bundle raises ``ValueError`` naming it.
    """
    book = VersionBook(versions_file)
    tasks = generated_tasks(names)
    changed = {t.bundle_name: fp for t in tasks if (fp := _changed(t, book)) is not None}
    if changed and not (bump or amend):
        raise ValueError(
            f"{len(changed)} bundle(s) changed without a version bump: {', '.join(sorted(changed))}. Run "
            "`python tools/generate_bundles.py --bump 'what changed'` (or --amend before a release)."
        )
    for name, fp in changed.items():
        if amend:
            book.amend(name, fp, bump)
        else:
            book.record(name, fp, bump, level)
    if changed:
        book.write()
    written = []
    for task in tasks:
        for rel, text in render_bundle(task, book).items():
            path = Path(out_dir) / task.bundle_name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
            written.append(path)
    return written


def check_bundles(
    out_dir: Path = BUNDLES_DIR, names: list[str] | None = None, versions_file: Path = VERSIONS_FILE
) -> list[str]:
    """Problems: committed bundles that differ from the generator's output, or changed without a version bump."""
    book = VersionBook(versions_file)
    problems = []
    tasks = generated_tasks(names)
    for task in tasks:
        if _changed(task, book) is not None:
            problems.append(f"{task.bundle_name}: content changed without a version bump (run with --bump)")
            continue
        root = Path(out_dir) / task.bundle_name
        expected = render_bundle(task, book)
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
        hand_written = {"prism_pretrain"}
        for path in sorted(p for p in Path(out_dir).glob("prism_*") if p.is_dir()):
            if path.name not in known | hand_written:
                problems.append(f"{path}: no task of that name with templates in the registry")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on problems")
    parser.add_argument("--bump", metavar="MESSAGE", help="changelog line for every bundle whose content changed")
    parser.add_argument("--level", choices=("major", "minor", "patch"), default="minor", help="version bump level")
    parser.add_argument("--amend", action="store_true", help="record changes under the current (unreleased) version")
    parser.add_argument("--only", nargs="+", metavar="TASK", help="task or bundle names (default: all with templates)")
    parser.add_argument("--out", type=Path, default=BUNDLES_DIR, help="bundles folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        problems = check_bundles(args.out, args.only)
        for line in problems:
            print(line)
        if problems:
            print(f"{len(problems)} problem(s): run `python tools/generate_bundles.py [--bump ...]` and commit the result.")
            return 1
        print(f"bundles under {args.out} match the generator")
        return 0
    try:
        files = write_bundles(args.out, args.only, bump=args.bump, level=args.level, amend=args.amend)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"wrote {len(files)} files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
