"""Fetch a file from an http(s) or file URL, or a local path, into place only once its hash is verified.

Bytes stream into a hidden ``.<name>.*.part`` file beside the target while being hashed; the target appears (one
rename) only when the download is complete and its hash is the expected one. A failed, interrupted or
mismatched download deletes its partial file, so no half-written or unverified file is ever left under the
target's name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO

from tqdm import tqdm

from prism.release.archive import default_mode

__all__ = ["HASH_TYPES", "IntegrityError", "fetch", "file_hash", "join_location", "read_location"]

HASH_TYPES = ("md5", "sha1", "sha256", "sha512")  # what MONAI's large_files.yml entries may name
# (checked here rather than with monai.utils.look_up_option: `prism download` does not pay for importing MONAI)
_BLOCK = 1 << 20
_TIMEOUT = 60.0
_PROGRESS_FROM = 4 << 20  # show a progress bar for downloads above 4 MiB (or of unknown size)


class IntegrityError(ValueError):
    """A downloaded file whose hash is not the published one (the file has been deleted)."""


def _is_url(location: str) -> bool:
    return urllib.parse.urlparse(location).scheme in ("http", "https", "file")


def join_location(base: str, relative: str) -> str:
    """``relative`` resolved against ``base`` (an index's URL or path); an absolute URL is kept as it is."""
    if _is_url(relative):
        return relative
    if _is_url(base):
        return urllib.parse.urljoin(base, relative)
    return str(Path(base).parent / relative)


def _open(location: str) -> tuple[IO[bytes], int | None]:
    """A binary stream of ``location`` and its size when known."""
    if _is_url(location):
        response = urllib.request.urlopen(location, timeout=_TIMEOUT)  # noqa: S310 (http, https and file only)
        length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        return response, int(length) if length else None
    path = Path(location)
    return open(path, "rb"), path.stat().st_size


def read_location(location: str) -> bytes:
    """The whole content of a (small) file at a URL or path."""
    stream, _ = _open(location)
    with stream:
        return stream.read()


def _hash_type(name: str) -> str:
    if name.lower() not in HASH_TYPES:
        raise ValueError(f"hash_type {name!r}: expected one of {', '.join(HASH_TYPES)}.")
    return name.lower()


def file_hash(path: str | os.PathLike, hash_type: str = "sha256") -> str:
    """Hex digest of a file."""
    digest = hashlib.new(_hash_type(hash_type))
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    location: str,
    dest: str | os.PathLike,
    expected: str | None = None,
    hash_type: str = "sha256",
    what: str | None = None,
) -> str:
    """Download ``location`` to ``dest`` and return its sha256.

    Args:
        location: http(s) or file URL, or a local path.
        dest: the target file; written only after the download completed and matched ``expected``.
        expected: the published hex digest; None when none is known (the caller records the returned sha256).
        hash_type: the algorithm of ``expected``: md5, sha1, sha256 or sha512.
        what: name shown in messages and the progress bar (default: the target's name).

    Raises:
        IntegrityError: the digest differs from ``expected``; the downloaded bytes were deleted.
        OSError: the download failed (the partial file was deleted).
    """
    dest = Path(dest)
    what = what or dest.name
    hash_type = _hash_type(hash_type)
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, sha256 = hashlib.new(hash_type), hashlib.sha256()
    stream, size = _open(location)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with stream, os.fdopen(fd, "wb") as out:
            show = size is None or size >= _PROGRESS_FROM
            with tqdm(total=size, unit="B", unit_scale=True, desc=what, disable=None if show else True) as bar:
                for block in iter(lambda: stream.read(_BLOCK), b""):
                    out.write(block)
                    digest.update(block)
                    sha256.update(block)
                    bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if size is not None and os.path.getsize(tmp) != size:
            raise OSError(
                f"{what}: download from {location} broke off after {os.path.getsize(tmp)} of {size} bytes; "
                "nothing was written."
            )
        if expected is not None and digest.hexdigest() != expected.lower():
            raise IntegrityError(
                f"{what}: {hash_type} of the file downloaded from {location} is {digest.hexdigest()}, but the "
                f"published {hash_type} is {expected}: the file is not the one published (tampered with or "
                "corrupted), so it was deleted and nothing was written."
            )
        os.chmod(tmp, default_mode())
        os.replace(tmp, dest)
    except http.client.HTTPException as err:  # e.g. IncompleteRead: the server closed the connection early
        Path(tmp).unlink(missing_ok=True)
        raise OSError(f"{what}: download from {location} broke off ({err!r}); nothing was written.") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha256.hexdigest()
