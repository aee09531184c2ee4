"""Helpers of the release tests: a release folder served on 127.0.0.1, and a small release built in it."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from prism.release.archive import write_zip
from prism.release.build import bundle_zip
from prism.release.index import empty_index, write_json
from prism.runtime import file_sha256

REPO = Path(__file__).resolve().parents[1]
# `python -c STRIPPED_MONAI ARGS` runs `python -m monai.bundle ARGS` as a user without the repository would: no
# path holding a prism package stays on sys.path but the working folder (the editable install's .pth entry, a
# PYTHONPATH), so prism can come only from a bundle folder; it prints where prism was imported from.
STRIPPED_MONAI = """
import json, runpy, sys
from pathlib import Path
here = Path.cwd().resolve()
sys.path[:] = [p for p in sys.path
               if Path(p or '.').resolve() == here or not (Path(p or '.').resolve() / 'prism').is_dir()]
path_before_run = list(sys.path)
sys.argv = ['monai.bundle', *sys.argv[1:]]
try:
    runpy.run_module('monai.bundle', run_name='__main__', alter_sys=True)
finally:
    prism = sys.modules.get('prism')
    print('PRISM_ORIGIN=' + json.dumps({'file': getattr(prism, '__file__', None), 'path': path_before_run}))
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; files named in ``truncated`` are cut off halfway (a connection lost mid-download)."""

    truncated: set[str] = set()

    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        name = self.path.lstrip("/")
        if name not in self.truncated:
            return super().do_GET()
        data = (Path(self.directory) / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[tuple[str, type[_Handler]]]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread: yields the base URL and the handler class."""
    handler = type("Handler", (_Handler,), {"truncated": set()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def publish_bundle(out: Path, bundle: Path, large_files: list[dict] | None = None) -> dict:
    """Add ``bundle`` (a bundle folder) to the release in ``out`` as ``prism release`` would, with
    ``large_files`` replacing its large_files.yml entries; return its index entry."""
    staged = out / ".staging" / bundle.name
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(bundle, staged)
    if large_files is not None:
        (staged / "large_files.yml").write_text(json.dumps({"large_files": large_files}))
    members, entry = bundle_zip(staged)
    version = json.loads((staged / "configs" / "metadata.json").read_text())["version"]
    path = write_zip(members, out / entry["file"])
    entry.update(sha256=file_sha256(path), size=path.stat().st_size, source_bundles={})
    index_file = out / "index.json"
    index = json.loads(index_file.read_text()) if index_file.is_file() else empty_index()
    index["bundles"].setdefault(bundle.name, {})[version] = entry
    write_json(index_file, index)
    shutil.rmtree(out / ".staging")
    return entry
