"""Release packaging and verified downloads of the bundles: ``prism release`` builds one reproducible zip per bundle
(carrying the ``prism`` code its configs use), an index with sha256 and a wheel of the shared package;
``prism download`` fetches a bundle, checks it against the index before unpacking it safely, and fetches the
weights its ``large_files.yml`` lists, hashes checked. See ``docs/release.md``.

A tool layer: it reads bundle folders and the ``prism`` sources; nothing of it is carried in a bundle.
"""

from __future__ import annotations
