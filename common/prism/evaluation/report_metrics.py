"""Report-generation metrics: BLEU-1..4, METEOR and ROUGE-L, per case and over a corpus.

All three see the same tokens (:func:`tokenize`: lower case, words and single punctuation marks).
Implementations:

- BLEU-n: nltk ``sentence_bleu`` / ``corpus_bleu`` with uniform weights ``(1/n, ..., 1/n)``, no smoothing, brevity
  penalty against the closest reference length. BLEU-n of the corpus is :func:`corpus_bleu` (n-gram counts pooled
  over cases, Papineni et al. 2002); the per-case values feed the paired tests. Tests check both against sacrebleu.
- METEOR: nltk ``meteor_score`` (exact, Porter-stem and WordNet-synonym matches; alpha 0.9, beta 3, gamma 0.5).
  The corpus value is the mean over cases. It needs WordNet 3.0, see :mod:`prism.evaluation.wordnet`.
- ROUGE-L: Google's ``rouge-score`` package, F-measure of the longest common subsequence.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np

from prism.evaluation.wordnet import REPORTS_EXTRA, load_wordnet

__all__ = ["REPORT_METRICS", "tokenize", "bleu", "corpus_bleu", "meteor", "rouge_l", "report_scores"]

REPORT_METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rouge_l")

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-case word and punctuation tokens: ``"No effusion."`` -> ``["no", "effusion", "."]``."""
    if not isinstance(text, str):
        raise ValueError(f"expected report text, got {type(text).__name__}: {text!r}.")
    return _TOKEN.findall(text.lower())


def _pairs(references: Sequence[str], hypotheses: Sequence[str]) -> list[tuple[list[str], list[str]]]:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses; they must be paired.")
    if len(references) == 0:
        raise ValueError("no reports given.")
    pairs = []
    for index, (reference, hypothesis) in enumerate(zip(references, hypotheses)):
        reference_tokens = tokenize(reference)
        if not reference_tokens:
            raise ValueError(f"reference report {index} is empty; scores against an empty reference are undefined.")
        pairs.append((reference_tokens, tokenize(hypothesis)))
    return pairs


def _weights(order: int) -> tuple[float, ...]:
    if order not in (1, 2, 3, 4):
        raise ValueError(f"BLEU order must be 1, 2, 3 or 4, got {order}.")
    return (1.0 / order,) * order


def _bleu_score():
    """nltk's BLEU module, imported on use: report metrics are an optional extra."""
    try:
        from nltk.translate import bleu_score
    except ImportError as error:
        raise ImportError(REPORTS_EXTRA) from error
    return bleu_score


def _matches(pairs: list[tuple[list[str], list[str]]], order: int) -> int:
    """The smallest, over n = 1..order, clipped n-gram match count pooled over ``pairs``."""
    modified_precision = _bleu_score().modified_precision
    return min(sum(int(modified_precision([r], h, n).numerator) for r, h in pairs) for n in range(1, order + 1))


def bleu(references: Sequence[str], hypotheses: Sequence[str], order: int = 4) -> np.ndarray:
    """Per-case (sentence) BLEU-``order`` in [0, 1], shape (N,). 0 when an n-gram order has no match."""
    weights = _weights(order)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(?s).*0 counts of")  # nltk warns before returning ~0
        pairs = _pairs(references, hypotheses)
        scores = [_bleu_score().sentence_bleu([r], h, weights=weights) for r, h in pairs]
    # With a zero n-gram precision BLEU is 0 (Papineni et al.); nltk returns a tiny positive stand-in instead.
    return np.array([0.0 if _matches([pair], order) == 0 else s for pair, s in zip(pairs, scores)])


def corpus_bleu(references: Sequence[str], hypotheses: Sequence[str], order: int = 4) -> float:
    """Corpus BLEU-``order`` in [0, 1]: n-gram matches and lengths pooled over all cases."""
    weights = _weights(order)
    pairs = _pairs(references, hypotheses)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(?s).*0 counts of")
        score = float(_bleu_score().corpus_bleu([[r] for r, _ in pairs], [h for _, h in pairs], weights=weights))
    return 0.0 if _matches(pairs, order) == 0 else score


def meteor(references: Sequence[str], hypotheses: Sequence[str], wordnet_dir: str | None = None) -> np.ndarray:
    """Per-case METEOR in [0, 1], shape (N,).

    Raises:
        WordNetNotFoundError: WordNet 3.0 is not installed (see :func:`prism.evaluation.wordnet.load_wordnet`).
    """
    from nltk.translate.meteor_score import meteor_score  # nltk is present: load_wordnet imported it

    wordnet = load_wordnet(wordnet_dir)
    return np.array([meteor_score([r], h, wordnet=wordnet) for r, h in _pairs(references, hypotheses)])


class _Tokenizer:
    """rouge-score tokenizer interface around :func:`tokenize`."""

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


def rouge_l(references: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
    """Per-case ROUGE-L F-measure in [0, 1], shape (N,)."""
    _pairs(references, hypotheses)  # validation
    try:
        from rouge_score.rouge_scorer import RougeScorer
    except ImportError as error:
        raise ImportError(REPORTS_EXTRA) from error
    scorer = RougeScorer(["rougeL"], tokenizer=_Tokenizer())
    return np.array([scorer.score(r, h)["rougeL"].fmeasure for r, h in zip(references, hypotheses)])


def report_scores(
    references: Sequence[str],
    hypotheses: Sequence[str],
    metrics: Sequence[str] = REPORT_METRICS,
    wordnet_dir: str | None = None,
) -> dict[str, np.ndarray]:
    """Per-case scores ``{metric: (N,) array}`` for any of ``bleu1..bleu4``, ``meteor``, ``rouge_l``."""
    scores: dict[str, np.ndarray] = {}
    for name in metrics:
        if name in ("bleu1", "bleu2", "bleu3", "bleu4"):
            scores[name] = bleu(references, hypotheses, order=int(name[-1]))
        elif name == "meteor":
            scores[name] = meteor(references, hypotheses, wordnet_dir=wordnet_dir)
        elif name == "rouge_l":
            scores[name] = rouge_l(references, hypotheses)
        else:
            raise ValueError(f"unknown report metric {name!r}; choose from {', '.join(REPORT_METRICS)}.")
    return scores
