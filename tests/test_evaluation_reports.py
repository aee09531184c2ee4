"""Report metrics against independent references: sacrebleu for BLEU, hand-computed METEOR, an LCS for ROUGE-L."""

from __future__ import annotations

import numpy as np
import pytest
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu
from sacrebleu.metrics import BLEU

from prism.evaluation.report_metrics import bleu, corpus_bleu, meteor, report_scores, rouge_l, tokenize
from prism.evaluation.wordnet import WordNetNotFoundError, load_wordnet

REFERENCES = [
    "No joint effusion. The anterior cruciate ligament is intact.",
    "Horizontal tear of the posterior horn of the medial meniscus.",
    "Mild chondral thinning of the patella, no fracture.",
    "Bone marrow edema in the lateral femoral condyle.",
]
HYPOTHESES = [
    "No effusion. The anterior cruciate ligament is intact.",
    "Tear of the posterior horn of the medial meniscus.",
    "Mild thinning of the patella with no fracture.",
    "Marrow edema in the lateral condyle of the femur.",
]


def _sacrebleu(order: int) -> BLEU:
    return BLEU(tokenize="none", smooth_method="none", max_ngram_order=order, effective_order=False)


def _joined(texts):
    return [" ".join(tokenize(t)) for t in texts]


def test_tokenize():
    assert tokenize("No effusion, ACL intact.") == ["no", "effusion", ",", "acl", "intact", "."]
    with pytest.raises(ValueError, match="report text"):
        tokenize(None)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_bleu_matches_sacrebleu_on_same_tokens(order):
    ours = corpus_bleu(REFERENCES, HYPOTHESES, order=order)
    reference = _sacrebleu(order).corpus_score(_joined(HYPOTHESES), [_joined(REFERENCES)]).score / 100.0
    assert ours == pytest.approx(reference, abs=1e-9)
    weights = (1.0 / order,) * order
    tokens = [([tokenize(r)], tokenize(h)) for r, h in zip(REFERENCES, HYPOTHESES)]
    assert ours == pytest.approx(nltk_corpus_bleu([r for r, _ in tokens], [h for _, h in tokens], weights), abs=1e-12)
    per_case = bleu(REFERENCES, HYPOTHESES, order=order)
    for i, value in enumerate(per_case):
        single = _sacrebleu(order).sentence_score(_joined(HYPOTHESES)[i], [_joined(REFERENCES)[i]]).score / 100.0
        assert value == pytest.approx(single, abs=1e-9)


def test_bleu_by_hand_and_zero_overlap():
    # hypothesis "a b c d", reference "a b c e f": p1 = 3/4, p2 = 2/3, BP = exp(1 - 5/4)
    expected = np.exp(1 - 5 / 4) * np.sqrt(3 / 4 * 2 / 3)
    assert bleu(["a b c e f"], ["a b c d"], order=2)[0] == pytest.approx(expected, abs=1e-12)
    assert bleu(["a b c d"], ["d c b a"], order=2)[0] == 0.0  # no bigram match: BLEU-2 is 0 by definition
    with pytest.raises(ValueError, match="empty"):
        bleu([" "], ["a"])
    with pytest.raises(ValueError, match="paired"):
        bleu(["a"], ["a", "b"])


def _lcs(a: list[str], b: list[str]) -> int:
    table = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1, j + 1] = table[i, j] + 1 if x == y else max(table[i, j + 1], table[i + 1, j])
    return int(table[-1, -1])


def test_rouge_l_matches_lcs_f_measure():
    scores = rouge_l(REFERENCES, HYPOTHESES)
    for score, reference, hypothesis in zip(scores, REFERENCES, HYPOTHESES):
        r, h = tokenize(reference), tokenize(hypothesis)
        lcs = _lcs(r, h)
        precision, recall = lcs / len(h), lcs / len(r)
        assert score == pytest.approx(2 * precision * recall / (precision + recall), abs=1e-12)


def _wordnet_available() -> bool:
    try:
        load_wordnet()
    except WordNetNotFoundError:
        return False
    return True


@pytest.mark.skipif(
    not _wordnet_available(), reason="WordNet 3.0 not installed (apt-get install wordnet-base wordnet-sense-index)"
)
def test_meteor_by_hand_with_wordnet_synonyms():
    # 'ill' matches 'sick' only through WordNet: 4 of 4 unigrams in one chunk.
    # Fmean = 1, penalty = 0.5 * (1/4)^3  ->  1 - 1/128
    synonym = meteor(["the patient is sick"], ["the patient is ill"])[0]
    assert synonym == pytest.approx(1 - 0.5 * (1 / 4) ** 3, abs=1e-12)
    # no synonym: 3 of 4 match in one chunk: Fmean = 0.75, penalty = 0.5 * (1/3)^3
    different = meteor(["the patient is sick"], ["the patient is tall"])[0]
    assert different == pytest.approx(0.75 * (1 - 0.5 * (1 / 3) ** 3), abs=1e-12)
    scores = report_scores(REFERENCES, HYPOTHESES)
    assert set(scores) == {"bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rouge_l"}
    assert all(len(v) == 4 and np.all((0 <= v) & (v <= 1)) for v in scores.values())


def test_meteor_without_wordnet_is_a_clear_error(tmp_path):
    with pytest.raises(WordNetNotFoundError, match="apt-get install wordnet-base wordnet-sense-index"):
        meteor(["a b"], ["a b"], wordnet_dir=str(tmp_path))


def test_unknown_report_metric():
    with pytest.raises(ValueError, match="unknown report metric"):
        report_scores(["a"], ["a"], metrics=["cider"])
