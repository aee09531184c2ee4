"""Subject-level, seeded splits that keep a dataset's official split.

Rules, in order:

1. A case of the official test set stays in ``test``. For an external task (a model trained elsewhere is only
   evaluated) every labelled case goes to ``test``.
2. A subject (patient; across sessions and time points) never lands in two lists. Official splits that put one
   subject in two lists are an error, not something to paper over.
3. Without folds: an official validation set is kept; else official folds (PI-CAI, LLD-MMRI) give their
   lowest fold to ``validation``; else ``round(val_fraction * subjects)`` subjects, drawn with ``seed``, do.
4. With ``folds=K``: official folds are used when the dataset has exactly K of them; otherwise subjects are
   shuffled with ``seed`` and dealt round-robin into K folds. The official validation set joins the pool
   (K-fold cross-validation replaces a single validation split); the test set never does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from prism.data.convert.files import ConversionError

__all__ = ["SPLITS", "SplitPlan", "plan_splits"]

SPLITS = ("training", "validation", "test")


class _Splittable(Protocol):
    case: str
    subject: str
    split: str | None
    fold: int | None


@dataclass(frozen=True)
class SplitPlan:
    """Which list each case goes to, per datalist: ``lists[k]`` is fold k (one entry without folds)."""

    lists: tuple[dict[str, str], ...]  # case -> split name, one dict per datalist
    folds: dict[str, int]  # case -> fold (with folds only)
    how: str  # one line for the report


def _check_subjects(cases: Sequence[_Splittable]) -> None:
    where: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        where[case.subject].add(case.split or "training")
    mixed = {s: sorted(v) for s, v in where.items() if len(v) > 1}
    if mixed:
        shown = ", ".join(f"{s} ({'/'.join(v)})" for s, v in sorted(mixed.items())[:5])
        raise ConversionError(f"the official splits put {len(mixed)} subject(s) in two lists: {shown}.")


def _shuffled_subjects(cases: Sequence[_Splittable], seed: int) -> list[str]:
    subjects = sorted({c.subject for c in cases})
    return [subjects[i] for i in np.random.default_rng(seed).permutation(len(subjects))]


def plan_splits(
    cases: Sequence[_Splittable], *, val_fraction: float, seed: int, folds: int, external: bool
) -> SplitPlan:
    """Assign every case to training, validation or test (per fold with ``folds > 0``).

    Raises:
        ConversionError: for a ``val_fraction`` outside [0, 1), negative ``folds``, fewer pool subjects than
            folds, official folds of another count, or a subject in two official lists.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ConversionError(f"--val_fraction must be in [0, 1), got {val_fraction}.")
    if folds < 0 or folds == 1:
        raise ConversionError(f"--folds must be 0 (one validation split) or at least 2, got {folds}.")
    if external:
        return SplitPlan(({c.case: "test" for c in cases},), {}, "external task: every labelled case is a test case")
    _check_subjects(cases)
    test = {c.case for c in cases if c.split == "test"}
    pool = [c for c in cases if c.case not in test]
    official_folds = sorted({c.fold for c in pool if c.fold is not None})
    if official_folds and any(c.fold is None for c in pool):
        raise ConversionError("some cases carry an official fold and others do not.")
    if folds == 0:
        return _single(pool, test, val_fraction, seed, official_folds)
    return _k_fold(pool, test, folds, seed, official_folds)


def _single(pool, test, val_fraction, seed, official_folds) -> SplitPlan:
    assignment = {case: "test" for case in test}
    if any(c.split == "validation" for c in pool):
        assignment.update({c.case: c.split or "training" for c in pool})
        how = "official training/validation split"
    elif official_folds:
        assignment.update({c.case: "validation" if c.fold == official_folds[0] else "training" for c in pool})
        how = f"official fold {official_folds[0]} is the validation list"
    else:
        subjects = _shuffled_subjects(pool, seed)
        n_val = int(round(val_fraction * len(subjects)))
        if val_fraction > 0 and n_val == 0 and len(subjects) > 1:
            n_val = 1
        validation = set(subjects[:n_val])
        assignment.update({c.case: "validation" if c.subject in validation else "training" for c in pool})
        how = f"{n_val} of {len(subjects)} subjects drawn for validation (val_fraction {val_fraction}, seed {seed})"
    return SplitPlan((assignment,), {}, how)


def _k_fold(pool, test, folds, seed, official_folds) -> SplitPlan:
    if official_folds:
        if len(official_folds) != folds:
            raise ConversionError(f"the dataset has {len(official_folds)} official folds; --folds {folds} asked.")
        fold_of = {c.case: official_folds.index(c.fold) for c in pool}
        how = f"the dataset's {folds} official folds"
    else:
        subjects = _shuffled_subjects(pool, seed)
        if len(subjects) < folds:
            raise ConversionError(f"{len(subjects)} subject(s) outside the test set cannot fill {folds} folds.")
        subject_fold = {s: i % folds for i, s in enumerate(subjects)}
        fold_of = {c.case: subject_fold[c.subject] for c in pool}
        how = f"{len(subjects)} subjects dealt into {folds} folds (seed {seed})"
    lists = []
    for k in range(folds):
        assignment = {case: "test" for case in test}
        assignment.update({case: "validation" if f == k else "training" for case, f in fold_of.items()})
        lists.append(assignment)
    return SplitPlan(tuple(lists), fold_of, how)
