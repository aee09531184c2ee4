"""Find WordNet 3.0 for METEOR without downloads.

nltk's METEOR matches synonyms through WordNet. No package on the registries we use ships WordNet, so this
module reads it from, in order: an explicit folder, ``$PRISM_WORDNET_DIR``, nltk's own ``corpora/wordnet``
(``nltk.download("wordnet")``) or Debian's ``wordnet-base`` + ``wordnet-sense-index`` packages
(``/usr/share/wordnet``). Debian leaves out the ``lexnames`` file nltk's reader opens, so a copy plus
that file (the 45 lexicographer file names of WordNet 3.0, listed below) is made in the user cache
(``~/.cache/prism/<source>/corpora/wordnet``, a 36 MB copy). When none is
found, :class:`WordNetNotFoundError` says how to install it: METEOR is never computed without synonyms.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

__all__ = ["WordNetNotFoundError", "load_wordnet", "DEBIAN_WORDNET_DIR", "REPORTS_EXTRA"]

REPORTS_EXTRA = "report metrics need nltk and rouge-score: pip install 'prism-bundles[reports]'"

DEBIAN_WORDNET_DIR = "/usr/share/wordnet"

# Files nltk's WordNetCorpusReader opens (lexnames may be generated, see above).
_REQUIRED = (
    "index.sense",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
)

# WordNet 3.0 lexicographer files (man page lexnames(5WN)): number = position, then syntactic category
# (1 noun, 2 verb, 3 adjective, 4 adverb).
_LEXNAMES = (
    ("adj.all", 3),
    ("adj.pert", 3),
    ("adv.all", 4),
    ("noun.Tops", 1),
    ("noun.act", 1),
    ("noun.animal", 1),
    ("noun.artifact", 1),
    ("noun.attribute", 1),
    ("noun.body", 1),
    ("noun.cognition", 1),
    ("noun.communication", 1),
    ("noun.event", 1),
    ("noun.feeling", 1),
    ("noun.food", 1),
    ("noun.group", 1),
    ("noun.location", 1),
    ("noun.motive", 1),
    ("noun.object", 1),
    ("noun.person", 1),
    ("noun.phenomenon", 1),
    ("noun.plant", 1),
    ("noun.possession", 1),
    ("noun.process", 1),
    ("noun.quantity", 1),
    ("noun.relation", 1),
    ("noun.shape", 1),
    ("noun.state", 1),
    ("noun.substance", 1),
    ("noun.time", 1),
    ("verb.body", 2),
    ("verb.change", 2),
    ("verb.cognition", 2),
    ("verb.communication", 2),
    ("verb.competition", 2),
    ("verb.consumption", 2),
    ("verb.contact", 2),
    ("verb.creation", 2),
    ("verb.emotion", 2),
    ("verb.motion", 2),
    ("verb.perception", 2),
    ("verb.possession", 2),
    ("verb.social", 2),
    ("verb.stative", 2),
    ("verb.weather", 2),
    ("adj.ppl", 3),
)

_HOW_TO_INSTALL = (
    "METEOR needs WordNet 3.0 for synonym matching and will not run without it. Install it with "
    "`apt-get install wordnet-base wordnet-sense-index` (Debian/Ubuntu, files in /usr/share/wordnet), or "
    "`python -m nltk.downloader wordnet`, or point $PRISM_WORDNET_DIR at a WordNet 3.0 database folder."
)


class WordNetNotFoundError(RuntimeError):
    """WordNet 3.0 could not be found; the message says how to install it."""


def _nltk():
    try:
        import nltk
    except ImportError as error:
        raise ImportError(REPORTS_EXTRA) from error
    return nltk


def _nltk_wordnet_dir() -> Path | None:
    nltk = _nltk()
    try:
        return Path(str(nltk.data.find("corpora/wordnet")))
    except LookupError:
        return None


def _missing(folder: Path) -> list[str]:
    return [name for name in _REQUIRED if not (folder / name).is_file()]


def _staging_dir(source: Path) -> Path:
    """A copy of ``source`` plus a generated ``lexnames`` (Debian does not ship it), in the user cache.

    Files are copied: nltk refuses symbolic links that leave the folder and files with several hard links.
    """
    # Laid out as an nltk data folder (<data>/corpora/wordnet) so nltk finds it under its own name too.
    slug = re.sub(r"[^A-Za-z0-9]+", "_", str(source)).strip("_")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "prism" / slug / "corpora" / "wordnet"
    cache.mkdir(parents=True, exist_ok=True)
    for name in (*_REQUIRED, "cntlist.rev", "lexnames"):
        original, staged = source / name, cache / name
        if not original.is_file():
            continue
        if staged.is_file() and staged.stat().st_size == original.stat().st_size:
            continue
        shutil.copyfile(original, staged)
    lexnames = cache / "lexnames"
    if not lexnames.is_file():
        lexnames.write_text("".join(f"{i:02d}\t{name}\t{pos}\n" for i, (name, pos) in enumerate(_LEXNAMES)))
    return cache


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> WordNetCorpusReader:
    nltk = _nltk()
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    source = Path(folder)
    in_nltk_layout = source.parent.name == "corpora" and (source / "lexnames").is_file()
    try:
        root = source if in_nltk_layout else _staging_dir(source)
    except OSError as error:
        raise WordNetNotFoundError(
            f"{folder}: could not prepare WordNet for nltk in the cache ({error}); set $XDG_CACHE_HOME to a "
            "writable folder."
        ) from error
    # nltk only opens corpus files below a folder of its data path, and maps synsets against the corpus it
    # knows as "wordnet": authorise the nltk data folder holding corpora/wordnet.
    data_folder = str(root.resolve().parent.parent)
    if data_folder not in nltk.data.path:
        nltk.data.path.append(data_folder)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The multilingual functions are not available")
        reader = WordNetCorpusReader(str(root), None)
    version = reader.get_version()
    if version != "3.0":
        raise WordNetNotFoundError(f"{folder}: found WordNet {version}, METEOR here is defined with WordNet 3.0.")
    return reader


def load_wordnet(folder: str | os.PathLike | None = None) -> WordNetCorpusReader:
    """Return an nltk WordNet reader for METEOR.

    Args:
        folder: a WordNet 3.0 database folder (``data.noun``, ``index.sense``, ...). ``None`` searches
            ``$PRISM_WORDNET_DIR``, nltk's data path and ``/usr/share/wordnet``.

    Raises:
        WordNetNotFoundError: no complete WordNet 3.0 database was found (the message says how to install it).
    """
    if folder is not None:
        candidates = [Path(folder)]
    elif os.environ.get("PRISM_WORDNET_DIR"):
        candidates = [Path(os.environ["PRISM_WORDNET_DIR"])]
    else:
        candidates = [p for p in (_nltk_wordnet_dir(), Path(DEBIAN_WORDNET_DIR)) if p is not None]
    problems = []
    for candidate in candidates:
        missing = _missing(candidate)
        if not missing:
            return _load(str(candidate.resolve()))
        problems.append(f"{candidate}: missing {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")
    raise WordNetNotFoundError(f"{_HOW_TO_INSTALL} Looked in: {'; '.join(problems)}.")
