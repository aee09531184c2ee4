"""Bundle zips: written byte-reproducibly, unpacked only when every member stays inside its one top folder.

A zip is reproducible when its bytes depend on the files' contents alone: members in sorted order, one fixed
timestamp (1980-01-01, the zip epoch), fixed permissions (0644), no directory entries or extra fields, deflate at a
fixed level. Unpacking refuses absolute paths, ``..`` components, backslashes and drive letters, symlinks and
other non-regular members, duplicate names and members outside the single top folder, before writing anything;
the tree is written to a temporary folder beside the target and moved into place in one rename.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "check_members", "default_mode", "safe_unpack", "write_zip"]

_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644
_MAX_UNPACKED = 2 << 30  # 2 GiB: far above any bundle (the model zoo caps a file at 25 MB)


def default_mode() -> int:
    """The mode ``open()`` would give a new file under the process's umask (``mkstemp`` files are 0600, which a web
    server serving the release, or another user of a shared bundle folder, could not read)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class UnsafeArchiveError(ValueError):
    """A zip whose members would land outside its folder, or are not plain files."""


def write_zip(files: Mapping[str, bytes], out: str | os.PathLike) -> Path:
    """Write ``files`` (archive name -> content) to ``out`` so that equal contents give equal bytes.

    The file is written beside ``out`` and renamed into place, so an interrupted build leaves no partial zip.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, so that external_attr holds the mode
                info.external_attr = _FILE_MODE << 16
                archive.writestr(info, files[name], compresslevel=9)
        os.chmod(tmp, default_mode())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _unsafe_name(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if not name or "\\" in name or "\0" in name:
        return "an empty name, a backslash or a NUL"
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if any(part in ("..", ".") for part in path.parts):
        return "a '..' or '.' component (it would land outside the bundle folder)"
    return None


def check_members(archive: zipfile.ZipFile, top: str) -> list[zipfile.ZipInfo]:
    """The file members of ``archive``, after checking that every member is a safe regular file under ``top/``.

    Raises:
        UnsafeArchiveError: naming the first offending member and why.
    """
    seen: set[str] = set()
    files = []
    total = 0
    for info in archive.infolist():
        name = info.filename
        why = _unsafe_name(name.rstrip("/") if info.is_dir() else name)
        kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0  # 0: no type recorded
        if why is None and kind == stat.S_IFLNK:
            why = "a symbolic link"
        elif why is None and kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            why = "not a regular file"
        elif why is None and PurePosixPath(name).parts[0] != top:
            why = f"outside the bundle's top folder {top}/"
        elif why is None and name in seen:
            why = "a duplicate name"
        if why:
            raise UnsafeArchiveError(f"{archive.filename}: member {name!r} is {why}; nothing was unpacked.")
        seen.add(name)
        total += info.file_size
        if not info.is_dir():
            files.append(info)
    if total > _MAX_UNPACKED:
        raise UnsafeArchiveError(f"{archive.filename}: unpacks to {total} bytes (limit {_MAX_UNPACKED}); refused.")
    return files


def safe_unpack(zip_path: str | os.PathLike, out_dir: str | os.PathLike, top: str) -> Path:
    """Unpack ``zip_path``, whose members all lie under ``top/``, into ``out_dir/top``; return that folder.

    Raises:
        UnsafeArchiveError: an unsafe member (nothing is written), or not a zip file.
        FileExistsError: ``out_dir/top`` exists (the caller decides what to do with it; nothing is overwritten).
    """
    out_dir = Path(out_dir)
    target = out_dir / top
    if target.exists():
        raise FileExistsError(f"{target} exists; it was not overwritten.")
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise UnsafeArchiveError(f"{zip_path}: not a zip file ({err}).") from err
    with archive:
        members = check_members(archive, top)
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{top}.", suffix=".unpacking", dir=out_dir))
        try:
            for info in members:
                dest = staging.joinpath(*PurePosixPath(info.filename).parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(staging / top, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
