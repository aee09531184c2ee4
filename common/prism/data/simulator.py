"""Physics-based multi-sequence brain MRI simulator (``prism simulate``, :func:`simulate_corpus`).

For each subject: anatomy from the MNI152 template (:mod:`prism.data.anatomy`), then one image per series
from the steady-state signal equations (:mod:`prism.data.physics`) with the protocol parameters drawn per
series, a smooth receive-coil bias field and Rician noise. Parameters are sampled first (TorchIO style:
``sample_*`` functions), then a deterministic function renders them, so the same seed gives the same bytes.

Output layout (BIDS-like)::

    OUT/dataset_description.json
    OUT/participants.tsv                              participant_id, age, sex, field_strength, lesion
    OUT/sub-001/anat/sub-001_acq-se_T1w.nii.gz        + .json sidecar (reference series)
    OUT/sub-001/anat/sub-001_acq-gre_T1w.nii.gz, _T2w, _PDw, _FLAIR, _STIR, _acq-b{0,500,1000}_dwi, _DCE
    OUT/sub-001/anat/sub-001_dseg.nii.gz              tissue labels (see TISSUE_LABELS) on the reference grid
    OUT/sub-001/anat/sub-001_label-lesion_mask.nii.gz lesion mask (0/1) on the reference grid
    OUT/sub-001/anat/sub-001_transforms.json          rigid transform of every series to the reference
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

from prism.data import physics
from prism.data.anatomy import (
    TISSUE_LABELS,
    AnatomyParams,
    output_affine,
    render_fractions,
    rigid_matrix,
    sample_anatomy,
)

__all__ = [
    "SERIES",
    "SeriesProtocol",
    "sample_protocol",
    "render_series",
    "simulate_subject",
    "simulate_corpus",
    "simulate_command",
]

REFERENCE_SERIES = "t1w_se"


@dataclass(frozen=True)
class _SeriesSpec:
    kind: str  # se, gre, ir, dwi, dce
    filename: str  # BIDS-like entities + suffix after sub-XXX_
    description: str
    tr: tuple[float, float]
    te: tuple[float, float]
    flip: tuple[float, float] = (90.0, 90.0)
    b_value: float = 0.0
    null_tissue: str | None = None


# Protocol ranges that give textbook contrast (ms; flip in degrees). See docs/data.md.
SERIES: dict[str, _SeriesSpec] = {
    "t1w_se": _SeriesSpec("se", "acq-se_T1w", "T1W SE", (400.0, 700.0), (8.0, 20.0)),
    "t1w_gre": _SeriesSpec("gre", "acq-gre_T1w", "T1W 3D GRE", (8.0, 25.0), (2.5, 5.0), (15.0, 35.0)),
    "t2w": _SeriesSpec("se", "T2w", "T2W TSE", (3000.0, 6000.0), (80.0, 120.0)),
    "pdw": _SeriesSpec("se", "PDw", "PDW TSE", (2000.0, 4000.0), (10.0, 25.0)),
    "flair": _SeriesSpec("ir", "FLAIR", "T2W FLAIR", (7000.0, 11000.0), (80.0, 140.0), null_tissue="csf"),
    "stir": _SeriesSpec("ir", "STIR", "STIR", (3000.0, 6000.0), (30.0, 70.0), null_tissue="fat"),
    "dwi_b0": _SeriesSpec("dwi", "acq-b0_dwi", "DWI b0", (3000.0, 8000.0), (60.0, 100.0), b_value=0.0),
    "dwi_b500": _SeriesSpec("dwi", "acq-b500_dwi", "DWI b500", (3000.0, 8000.0), (60.0, 100.0), b_value=500.0),
    "dwi_b1000": _SeriesSpec(
        "dwi", "acq-b1000_dwi", "DWI b1000", (3000.0, 8000.0), (60.0, 100.0), b_value=1000.0
    ),
    "dce": _SeriesSpec("dce", "DCE", "DCE 3D GRE", (3.5, 6.0), (1.2, 2.5), (10.0, 20.0)),
}


@dataclass(frozen=True)
class SeriesProtocol:
    """Exact acquisition parameters of one simulated series (ms, degrees, s/mm^2, seconds).

    ``rigid`` is the 4x4 rigid transform (RAS mm) of this series to the reference series: the anatomy at world
    point x of this series is at ``rigid @ x`` in the reference series (identity for the reference).
    """

    name: str
    tr: float
    te: float
    ti: float | None
    flip_angle: float
    b_value: float | None
    contrast_time_s: float | None
    snr: float
    bias_strength: float
    bias_grid: np.ndarray
    rigid: np.ndarray


def sample_protocol(
    name: str,
    rng: np.random.Generator,
    field_strength: float,
    *,
    series_motion: bool = True,
    max_motion_deg: float = 3.0,
    max_motion_mm: float = 3.0,
) -> SeriesProtocol:
    """Draw the parameters of series ``name`` (a key of :data:`SERIES`).

    TR, TE and flip angle are uniform in the series' range (rounded to 1 ms / 0.1 ms / 1 degree, the stored
    values being the ones used). Inversion-recovery series place TI at the exact null of CSF (FLAIR) or fat
    (STIR) for the drawn TR. SNR is uniform in 15-40 and the bias strength in 0.05-0.3. With
    ``series_motion`` every series except the reference is moved by a small rigid transform (patient motion
    between series), whose matrix is stored for registration.
    """
    if name not in SERIES:
        raise ValueError(f"Unknown series {name!r}; expected one of {sorted(SERIES)}.")
    spec = SERIES[name]
    tr = float(np.round(rng.uniform(*spec.tr), 0 if spec.tr[0] >= 100 else 1))
    te = float(np.round(rng.uniform(*spec.te), 1))
    flip = float(np.round(rng.uniform(*spec.flip)))
    ti = None
    if spec.null_tissue is not None:
        t1 = physics.tissue_table(field_strength)["t1"][physics.TISSUES.index(spec.null_tissue)]
        ti = float(np.round(physics.inversion_null(t1, tr), 1))
    contrast_time = float(np.round(rng.uniform(0.0, 300.0))) if spec.kind == "dce" else None
    snr = float(np.round(rng.uniform(15.0, 40.0), 1))
    bias_strength = float(np.round(rng.uniform(0.05, 0.3), 3))
    bias_grid = rng.standard_normal((4, 4, 4)).astype(np.float32)
    rotation = tuple(rng.uniform(-max_motion_deg, max_motion_deg, 3))
    shift = tuple(rng.uniform(-max_motion_mm, max_motion_mm, 3))
    rigid = np.eye(4)
    if series_motion and name != REFERENCE_SERIES:
        rigid = np.round(rigid_matrix(rotation, shift), 6)
    return SeriesProtocol(
        name=name,
        tr=tr,
        te=te,
        ti=ti,
        flip_angle=flip,
        b_value=spec.b_value if spec.kind == "dwi" else None,
        contrast_time_s=contrast_time,
        snr=snr,
        bias_strength=bias_strength,
        bias_grid=bias_grid,
        rigid=rigid,
    )


def _share_diffusion_settings(protocols: list[SeriesProtocol]) -> list[SeriesProtocol]:
    """The b-values of a DWI acquisition share one TR/TE, receive chain (SNR) and coil (bias field).

    The first DWI series' values are copied to the others, so noise has the same absolute level on every
    b-value and the b1000 image is noisier than the b0 image, as on a scanner.
    """
    diffusion = [p for p in protocols if SERIES[p.name].kind == "dwi"]
    if not diffusion:
        return protocols
    first = diffusion[0]
    shared = dict(tr=first.tr, te=first.te, snr=first.snr, bias_strength=first.bias_strength, bias_grid=first.bias_grid)
    return [dataclasses.replace(p, **shared) if SERIES[p.name].kind == "dwi" else p for p in protocols]


def _tissue_signals(protocol: SeriesProtocol, field_strength: float) -> np.ndarray:
    """Noise-free signed signal of each tissue (len(TISSUES),) for ``protocol``."""
    spec = SERIES[protocol.name]
    props = physics.tissue_table(field_strength)
    pd, t1, t2, t2s, adc = props["pd"], props["t1"], props["t2"], props["t2s"], props["adc"]
    if spec.kind == "se":
        return physics.spin_echo(pd, t1, t2, protocol.tr, protocol.te)
    if spec.kind == "ir":
        return physics.inversion_recovery(pd, t1, t2, protocol.tr, protocol.te, protocol.ti)
    if spec.kind == "gre":
        return physics.spoiled_gradient_echo(pd, t1, t2s, protocol.tr, protocol.te, protocol.flip_angle)
    if spec.kind == "dwi":
        # Diffusion-weighted spin-echo EPI with fat suppression: fat contributes no signal.
        fat_suppressed = np.where(np.array(physics.TISSUES) == "fat", 0.0, pd)
        return physics.spin_echo(fat_suppressed, t1, t2, protocol.tr, protocol.te) * physics.diffusion_weighting(
            adc, protocol.b_value
        )
    # DCE: spoiled gradient echo with T1 shortened by gadolinium, 1/T1' = 1/T1 + r1 C(t).
    r1 = physics.relaxivity(field_strength)
    t_min = protocol.contrast_time_s / 60.0
    conc = np.array([physics.tissue_concentration(t_min, *physics.PK_PARAMETERS[t]) for t in physics.TISSUES])
    t1_post = 1000.0 / (1000.0 / t1 + r1 * conc)
    return physics.spoiled_gradient_echo(pd, t1_post, t2s, protocol.tr, protocol.te, protocol.flip_angle)


def _bias_field(grid: np.ndarray, strength: float, shape: tuple[int, int, int]) -> np.ndarray:
    """Smooth multiplicative receive-coil sensitivity exp(strength * g), g a smooth field in [-1, 1]."""
    coarse = torch.from_numpy(grid / max(float(np.abs(grid).max()), 1e-6))[None, None]
    smooth = F.interpolate(coarse, size=shape, mode="trilinear", align_corners=True)[0, 0].numpy()
    return np.exp(strength * smooth)


def render_series(
    fractions: np.ndarray,
    protocol: SeriesProtocol,
    field_strength: float,
    noise_rng: np.random.Generator,
) -> tuple[np.ndarray, float]:
    """Image of one series from tissue fractions.

    Tissue signals are mixed by partial volume, the magnitude taken (inversion recovery can be negative),
    multiplied by the bias field, then Rician noise is added: the magnitude of the complex signal with
    Gaussian noise on both channels (noise is added in k-space, so it is uniform and does not follow the bias).

    Args:
        fractions: (len(TISSUES), X, Y, Z) tissue fractions.
        protocol: the series' parameters.
        field_strength: tesla.
        noise_rng: generator for the noise.

    Returns:
        (int16 image (X, Y, Z), scale) where image = round(signal * scale) and signal is in units of CSF PD.
    """
    signals = _tissue_signals(protocol, field_strength).astype(np.float32)
    bias = _bias_field(protocol.bias_grid, protocol.bias_strength, fractions.shape[1:]).astype(np.float32)
    clean = np.abs(np.tensordot(signals, fractions, axes=1)) * bias
    # SNR is defined on white matter of the unweighted image (b = 0 for diffusion): one noise level per receiver.
    if protocol.b_value:
        unweighted = _tissue_signals(dataclasses.replace(protocol, b_value=0.0), field_strength).astype(np.float32)
        base = np.abs(np.tensordot(unweighted, fractions, axes=1)) * bias
    else:
        base = clean
    wm = fractions[physics.TISSUES.index("wm")] > 0.9
    reference = float(base[wm].mean()) if wm.any() else float(base.max())
    sigma = reference / protocol.snr
    noise = noise_rng.standard_normal((2, *clean.shape), dtype=np.float32) * sigma
    noisy = np.sqrt((clean + noise[0]) ** 2 + noise[1] ** 2)
    # Fixed gain per series: the 99.5th percentile of the head maps to 4000 counts, as a scanner rescales.
    head = fractions.sum(axis=0) > 0.5
    top = float(np.percentile(noisy[head], 99.5)) if head.any() else float(noisy.max())
    scale = float(np.round(4000.0 / max(top, 1e-6), 3))
    image = np.clip(np.round(noisy * scale), 0, np.iinfo(np.int16).max).astype(np.int16)
    return image, scale


def _sidecar(protocol: SeriesProtocol, field_strength: float, scale: float) -> dict:
    spec = SERIES[protocol.name]
    scanning = {"se": "SE", "ir": "IR", "gre": "GR", "dwi": "EP", "dce": "GR"}[spec.kind]
    sidecar: dict = {
        "Modality": "MR",
        "Manufacturer": "PRISM simulator",
        "MagneticFieldStrength": field_strength,
        "SeriesDescription": spec.description,
        "ScanningSequence": scanning,
        "SequenceVariant": "SP" if spec.kind in ("gre", "dce") else "NONE",
        "MRAcquisitionType": "3D",
        "RepetitionTime": round(protocol.tr / 1000.0, 7),
        "EchoTime": round(protocol.te / 1000.0, 7),
        "FlipAngle": protocol.flip_angle,
        "BodyPart": "BRAIN",
        "BodyPartExamined": "BRAIN",
        "PrismSeries": protocol.name,
        "PrismSNR": protocol.snr,
        "PrismBiasStrength": protocol.bias_strength,
        "PrismIntensityScale": scale,
        "PrismRigidToReference": protocol.rigid.tolist(),
        "PrismReferenceSeries": REFERENCE_SERIES,
    }
    if protocol.ti is not None:
        sidecar["InversionTime"] = round(protocol.ti / 1000.0, 7)
    if protocol.b_value is not None:
        sidecar["DiffusionBValue"] = protocol.b_value
    if protocol.contrast_time_s is not None:
        sidecar["ContrastBolusIngredient"] = "GADOLINIUM"
        sidecar["PrismTimeAfterInjection"] = protocol.contrast_time_s
    return sidecar


def _save_nifti(data: np.ndarray, affine: np.ndarray, path: Path) -> None:
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, str(path))


def _write_json(payload: dict, path: Path) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _normalise_shape(shape: int | Sequence[int]) -> tuple[int, int, int]:
    dims = (int(shape),) * 3 if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if len(dims) != 3 or min(dims) < 8:
        raise ValueError(f"shape must be one int or three ints >= 8, got {shape!r}.")
    return dims  # type: ignore[return-value]


def simulate_subject(
    out_dir: str | Path,
    subject: str,
    rng: np.random.Generator,
    *,
    shape: int | Sequence[int] = 96,
    spacing: float = 2.5,
    field_strength: float | None = None,
    lesion_probability: float = 0.5,
    sequences: Sequence[str] | None = None,
    series_motion: bool = True,
) -> dict:
    """Simulate and write one subject; see :func:`simulate_corpus` for the arguments and the returned dict."""
    dims = _normalise_shape(shape)
    names = list(SERIES) if sequences is None else list(sequences)
    unknown = sorted(set(names) - set(SERIES))
    if unknown:
        raise ValueError(f"Unknown sequences {unknown}; expected a subset of {sorted(SERIES)}.")
    if spacing <= 0:
        raise ValueError(f"spacing must be positive, got {spacing}.")
    field = float(rng.choice(physics.FIELD_STRENGTHS)) if field_strength is None else float(field_strength)
    physics.tissue_table(field)  # validates the field strength
    anatomy: AnatomyParams = sample_anatomy(rng, lesion_probability=lesion_probability)
    sex = str(rng.choice(["F", "M"]))
    protocols = _share_diffusion_settings([sample_protocol(n, rng, field, series_motion=series_motion) for n in names])
    noise_seed = int(rng.integers(2**31))
    anat_dir = Path(out_dir) / subject / "anat"
    anat_dir.mkdir(parents=True, exist_ok=True)
    affine = output_affine(dims, spacing)

    reference = render_fractions(anatomy, dims, spacing)
    air = 1.0 - reference.sum(axis=0)
    labels = np.concatenate([air[None], reference]).argmax(axis=0).astype(np.int16)
    lesion = (reference[physics.TISSUES.index("lesion")] >= 0.5).astype(np.int16)
    _save_nifti(labels, affine, anat_dir / f"{subject}_dseg.nii.gz")
    _save_nifti(lesion, affine, anat_dir / f"{subject}_label-lesion_mask.nii.gz")

    images: dict[str, str] = {}
    transforms: dict[str, list] = {}
    for index, protocol in enumerate(protocols):
        moved = not np.allclose(protocol.rigid, np.eye(4))
        fractions = render_fractions(anatomy, dims, spacing, protocol.rigid) if moved else reference
        image, scale = render_series(fractions, protocol, field, np.random.default_rng([noise_seed, index]))
        stem = f"{subject}_{SERIES[protocol.name].filename}"
        _save_nifti(image, affine, anat_dir / f"{stem}.nii.gz")
        _write_json(_sidecar(protocol, field, scale), anat_dir / f"{stem}.json")
        images[protocol.name] = str(anat_dir / f"{stem}.nii.gz")
        transforms[protocol.name] = protocol.rigid.tolist()
    _write_json(
        {
            "reference": REFERENCE_SERIES,
            "convention": "anatomy at world point x (RAS mm) of a series is at matrix @ x in the reference",
            "transforms": transforms,
        },
        anat_dir / f"{subject}_transforms.json",
    )
    return {
        "subject": subject,
        "age": anatomy.age,
        "sex": sex,
        "field_strength": field,
        "has_lesion": anatomy.lesion_centre is not None,
        "images": images,
        "labels": str(anat_dir / f"{subject}_dseg.nii.gz"),
        "lesion": str(anat_dir / f"{subject}_label-lesion_mask.nii.gz"),
        "transforms": transforms,
    }


def simulate_corpus(
    out_dir: str | Path,
    subjects: int = 4,
    seed: int = 0,
    *,
    shape: int | Sequence[int] = 96,
    spacing: float = 2.5,
    field_strength: float | None = None,
    lesion_probability: float = 0.5,
    sequences: Sequence[str] | None = None,
    series_motion: bool = True,
) -> list[dict]:
    """Write a simulated multi-sequence brain MRI corpus to ``out_dir`` (layout in the module docstring).

    Args:
        out_dir: output folder (created).
        subjects: number of subjects, named sub-001, sub-002, ...
        seed: master seed; subject i uses ``numpy.random.default_rng([seed, i])``, so subjects do not depend
            on how many others are simulated, and the same seed gives the same bytes.
        shape: grid size (one int or three); default 96^3.
        spacing: isotropic voxel size in mm; default 2.5 (240 mm field of view). Use 1.0 with shape
            (192, 224, 192) for the full-resolution head (about 20 s and 3 GB per subject).
        field_strength: 1.5 or 3.0 tesla; None draws one per subject.
        lesion_probability: chance that a subject has one white-matter lesion.
        sequences: subset of :data:`SERIES` keys to write (default all: t1w_se, t1w_gre, t2w, pdw, flair,
            stir, dwi_b0, dwi_b500, dwi_b1000, dce).
        series_motion: move every series except ``t1w_se`` by a small known rigid transform. The label maps
            are on the reference (``t1w_se``) grid, so pass False when every series must be aligned with the
            labels (multi-channel segmentation); the drawn parameters and noise do not depend on it.

    Returns:
        one dict per subject: ``subject``, ``age``, ``sex``, ``field_strength``, ``has_lesion``, ``images``
        (series key -> NIfTI path), ``labels`` (tissue dseg path), ``lesion`` (mask path), ``transforms``
        (series key -> 4x4 list).
    """
    if subjects < 1:
        raise ValueError(f"subjects must be >= 1, got {subjects}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = [
        simulate_subject(
            out,
            f"sub-{i + 1:03d}",
            np.random.default_rng([int(seed), i]),
            shape=shape,
            spacing=spacing,
            field_strength=field_strength,
            lesion_probability=lesion_probability,
            sequences=sequences,
            series_motion=series_motion,
        )
        for i in range(int(subjects))
    ]
    _write_json(
        {
            "Name": "PRISM simulated brain MRI",
            "BIDSVersion": "1.9.0",
            "DatasetType": "raw",
            "GeneratedBy": [{"Name": "prism simulate", "Description": f"seed={seed}"}],
            "PrismTissueLabels": {str(k): v for k, v in TISSUE_LABELS.items()},
        },
        out / "dataset_description.json",
    )
    rows = ["participant_id\tage\tsex\tfield_strength\tlesion"]
    rows += [
        f"{r['subject']}\t{r['age']:.1f}\t{r['sex']}\t{r['field_strength']:.1f}\t{int(r['has_lesion'])}"
        for r in results
    ]
    (out / "participants.tsv").write_text("\n".join(rows) + "\n")
    return results


def simulate_command(
    out: str,
    subjects: int = 4,
    seed: int = 0,
    shape: int | tuple[int, int, int] = 96,
    spacing: float = 2.5,
    field_strength: float | None = None,
    lesions: float = 0.5,
    sequences: str | None = None,
    series_motion: bool = True,
) -> None:
    """Simulate a multi-sequence brain MRI corpus (``prism simulate --out DIR --subjects N --seed S``).

    Args:
        out: output folder.
        subjects: number of subjects.
        seed: master seed (same seed, same bytes).
        shape: grid size, one int or three (``--shape 96`` or ``--shape 96,112,96``).
        spacing: isotropic voxel size in mm.
        field_strength: 1.5 or 3.0; omitted: drawn per subject.
        lesions: probability that a subject has a lesion (0 to disable, 1 for all).
        sequences: comma-separated subset of t1w_se,t1w_gre,t2w,pdw,flair,stir,dwi_b0,dwi_b500,dwi_b1000,dce.
        series_motion: apply a small known rigid motion between series.
    """
    names = None
    if sequences is not None:
        names = [s.strip() for s in (sequences.split(",") if isinstance(sequences, str) else sequences)]
    results = simulate_corpus(
        out,
        subjects,
        seed,
        shape=shape,
        spacing=spacing,
        field_strength=field_strength,
        lesion_probability=lesions,
        sequences=names,
        series_motion=series_motion,
    )
    series = sum(len(r["images"]) for r in results)
    print(f"wrote {len(results)} subjects, {series} series to {out}")
