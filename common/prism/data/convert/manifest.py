"""The generic layout for private cohorts and anything else: one CSV manifest, one row per file.

``SOURCE/manifest.csv`` (or ``.tsv``/``.xlsx``), paths relative to SOURCE::

    subject,session,sequence,path,label_path,split,label,age,site
    p001,s1,T2,p001/s1/t2.nii.gz,p001/s1/seg.nii.gz,,,,
    p001,s1,ADC,p001/s1/adc.nii.gz,,,,,

- ``subject`` (required) and ``session`` (optional) make a case; ``sequence`` names one of the task's channels
  (matched by name: ``T2``, ``t2``), or ``baseline``/``followup`` (progression), ``moving``/``fixed``
  (registration); ``path`` is that sequence's file (NIfTI, MetaImage, NRRD: read by the bundle as they are).
- ``label_path``: the segmentation label (on the first channel's row or any row of the case); for
  registration, ``moving``/``fixed`` rows' ``label_path`` become ``moving_label``/``fixed_label``.
- ``split`` (optional): ``training``, ``validation`` or ``test`` (the cohort's own split).
- any other column is a target written into every record of the case (``label`` for classification, with
  ``;`` between the classes of a multi-label task; ``age`` as a number; ``site``, ``sex``...).

``--task`` is required (a manifest can feed any bundle).
"""

from __future__ import annotations

from collections import defaultdict

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.tables import normalise_header, read_table

__all__ = ["SPECS"]

_FIXED = {"subject", "session", "sequence", "path", "labelpath", "split"}
_KEYS = {"progression": ("baseline", "followup"), "registration": ("moving", "fixed")}


def _manifest(run: Conversion):
    found = [p for p in run.glob("manifest.*") if p.suffix.lower() in (".csv", ".tsv", ".txt", ".xlsx")]
    if len(found) != 1:
        raise ConversionError(
            f"{run.source}: expected one manifest.csv (or .tsv/.xlsx), found {[p.name for p in found]}."
        )
    return read_table(found[0])


def _key(run: Conversion, sequence: str) -> str:
    keys = _KEYS.get(run.task.family)
    if keys is not None:
        if sequence.lower() not in keys:
            raise CaseSkip(f"sequence {sequence!r} is not one of {keys}")
        return sequence.lower()
    for channel in run.task.channels:
        if normalise_header(channel) == normalise_header(sequence):
            return run.key_of(channel)
    raise CaseSkip(f"sequence {sequence!r} is none of the task's channels {list(run.task.channels)}")


def _target(run: Conversion, name: str, value: str):
    if name == "label" and not run.task.is_segmentation:
        names = [run.class_name(v.strip()) for v in value.split(";") if v.strip()]
        return names if run.task.family == "abnormality" else names[0]
    if name == "age":
        return float(value)
    return value


def _discover(run: Conversion) -> None:
    table = _manifest(run)
    subject, sequence, path = table.column("subject"), table.column("sequence"), table.column("path")
    session, label, split = (table.column(c, required=False) for c in ("session", "label_path", "split"))
    targets = [h for h in table.header if normalise_header(h) not in _FIXED]
    rows = defaultdict(list)
    for row in table.rows:
        rows[(row[subject].strip(), row.get(session, "").strip() if session else "")].append(row)
    for (who, when), group in sorted(rows.items()):
        case = f"{who}_{when}" if when else who
        with run.attempt(case):
            images, fields, label_file, splits = {}, {}, None, set()
            for row in group:
                key = _key(run, row[sequence].strip())
                images[key] = run.link(run.source / row[path].strip())
                if label and row.get(label, "").strip():
                    if run.task.family == "registration":
                        fields[f"{key}_label"] = run.link(run.source / row[label].strip())
                    else:
                        label_file = run.link(run.source / row[label].strip())
                for name in targets:
                    if row.get(name, "").strip():
                        fields[normalise_header(name) if name.lower() != name else name] = _target(
                            run, name, row[name].strip()
                        )
                if split and row.get(split, "").strip():
                    splits.add(row[split].strip().lower())
            required = {"progression": ("baseline",), "registration": ("moving", "fixed")}.get(
                run.task.family, run.task.input_keys
            )
            missing = [k for k in required if k not in images]
            if missing:
                raise CaseSkip(f"no row for {missing}")
            if len(splits) > 1:
                raise CaseSkip(f"rows of the case name different splits {sorted(splits)}")
            chosen = splits.pop() if splits else None
            run.add(
                Case(
                    case,
                    subject=who,
                    images=images,
                    label=label_file,
                    split=None if chosen in (None, "training", "train") else chosen,
                    fields=fields,
                )
            )


SPECS = (
    DatasetSpec(
        name="manifest",
        title="Generic CSV manifest (private cohorts)",
        tasks=(),
        download="-",
        release="prism manifest v1 (this module's docstring)",
        licence="the cohort's own",
        citation="the cohort's own",
        layout="manifest.csv: subject, session, sequence, path, label_path, split, <targets...>",
        discover=_discover,
    ),
)
