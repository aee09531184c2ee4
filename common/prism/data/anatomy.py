"""Subject anatomy for the simulator: tissue fractions warped from the MNI152 template.

nilearn ships the ICBM152 2009a template (skull-stripped T1 plus grey- and white-matter probability maps at
1 mm). The brain is everything inside the filled template mask; CSF is that mask minus GM and WM. The
template has no head around the brain, so shells of constant thickness are grown outside the brain from a
distance map: extra-axial CSF, skull bone, subcutaneous fat, skin/muscle (thicknesses are sampled per subject).
Each subject is the template under a random affine plus a smooth elastic warp, with optional age atrophy
(brain shrinks towards its centre, CSF fills the gap) and an optional ellipsoidal lesion.

Sampling (:func:`sample_anatomy`) is separated from the deterministic rendering (:func:`render_fractions`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from prism.data.physics import TISSUES

__all__ = [
    "AnatomyParams",
    "TemplateMaps",
    "load_template",
    "sample_anatomy",
    "render_fractions",
    "rigid_matrix",
    "output_affine",
    "TISSUE_LABELS",
]

# Tissue label map values (dseg): 0 is air/background, then TISSUES in order.
TISSUE_LABELS: dict[int, str] = {0: "background", **{i + 1: name for i, name in enumerate(TISSUES)}}

# Centre (MNI mm) of the simulated field of view: middle of the brain plus room for the head shells.
_FOV_CENTRE = np.array([0.0, -17.0, 12.0])


@dataclass(frozen=True)
class TemplateMaps:
    """Template volumes on the 1 mm MNI grid, stacked for sampling.

    Args:
        maps: float32 tensor (1, 4, I, J, K): GM probability, WM probability, brain mask, distance (mm)
            from the brain outside it.
        affine: 4x4 voxel-to-MNI-mm affine of the grid.
        wm_points: (N, 3) MNI mm coordinates of confident white matter, candidate lesion centres.
        brain_centre: MNI mm centre of mass of the brain mask (atrophy shrinks towards it).
    """

    maps: torch.Tensor
    affine: np.ndarray
    wm_points: np.ndarray
    brain_centre: np.ndarray


@functools.lru_cache(maxsize=1)
def load_template() -> TemplateMaps:
    """Load nilearn's MNI152 template once per process and derive the brain mask and distance map."""
    from nilearn import datasets
    from scipy import ndimage

    t1 = datasets.load_mni152_template(resolution=1)
    gm = np.asarray(datasets.load_mni152_gm_template(resolution=1).get_fdata(), dtype=np.float32)
    wm = np.asarray(datasets.load_mni152_wm_template(resolution=1).get_fdata(), dtype=np.float32)
    brain = ndimage.binary_fill_holes(np.asarray(t1.get_fdata()) > 0)
    gm = np.clip(gm, 0.0, 1.0) * brain
    wm = np.clip(wm, 0.0, 1.0) * brain
    total = gm + wm
    over = total > 1.0
    gm[over] /= total[over]
    wm[over] /= total[over]
    spacing = np.abs(np.diag(t1.affine)[:3])
    distance = ndimage.distance_transform_edt(~brain, sampling=spacing).astype(np.float32)
    maps = torch.from_numpy(np.stack([gm, wm, brain.astype(np.float32), distance]))[None]
    affine = np.asarray(t1.affine, dtype=np.float64)
    wm_idx = np.argwhere(wm > 0.95)[::50]
    wm_points = (affine[:3, :3] @ wm_idx.T).T + affine[:3, 3]
    centre_idx = np.argwhere(brain).mean(axis=0)
    brain_centre = affine[:3, :3] @ centre_idx + affine[:3, 3]
    return TemplateMaps(maps=maps.contiguous(), affine=affine, wm_points=wm_points, brain_centre=brain_centre)


@dataclass(frozen=True)
class AnatomyParams:
    """Sampled parameters of one subject's anatomy (all lengths in mm, angles in degrees).

    Args:
        rotation: rotation about x, y, z of the head in the scanner.
        scale: per-axis head size factor.
        shift: head translation.
        elastic: (3, n, n, n) displacement control grid (mm) over the field of view, smooth elastic warp.
        shells: thickness of extra-axial CSF, bone, fat, skin/muscle.
        age: years; atrophy 0.3% brain volume per year after 35.
        lesion_centre: MNI mm centre of the lesion, or None.
        lesion_radii: ellipsoid semi-axes of the lesion.
        lesion_rotation: ellipsoid orientation.
    """

    rotation: tuple[float, float, float]
    scale: tuple[float, float, float]
    shift: tuple[float, float, float]
    elastic: np.ndarray
    shells: tuple[float, float, float, float]
    age: float
    lesion_centre: tuple[float, float, float] | None
    lesion_radii: tuple[float, float, float]
    lesion_rotation: tuple[float, float, float]

    @property
    def atrophy(self) -> float:
        """Fraction of brain volume lost to age (0.3% a year after 35)."""
        return 0.003 * max(self.age - 35.0, 0.0)


def sample_anatomy(
    rng: np.random.Generator,
    *,
    lesion_probability: float = 0.5,
    age_range: tuple[float, float] = (20.0, 85.0),
    max_rotation: float = 10.0,
    max_scale: float = 0.08,
    max_shift: float = 6.0,
    elastic_mm: tuple[float, float] = (1.0, 3.0),
    control_points: int = 5,
) -> AnatomyParams:
    """Draw one subject's anatomy parameters (uniform distributions over the given ranges).

    Args:
        rng: the subject's random generator.
        lesion_probability: chance that the subject has one lesion (radius 6-15 mm, in white matter).
        age_range: uniform age range in years.
        max_rotation: head rotation up to +-this many degrees about each axis.
        max_scale: head scale factor within 1 +- this, per axis.
        max_shift: head shift up to +-this many mm per axis.
        elastic_mm: range of the elastic warp's displacement amplitude (mm).
        control_points: control-grid size per axis of the elastic warp.
    """
    if not 0.0 <= lesion_probability <= 1.0:
        raise ValueError(f"lesion_probability must be in [0, 1], got {lesion_probability}.")
    if age_range[0] > age_range[1]:
        raise ValueError(f"age_range must be (low, high), got {age_range}.")
    rotation = tuple(float(v) for v in rng.uniform(-max_rotation, max_rotation, 3))
    scale = tuple(float(v) for v in 1.0 + rng.uniform(-max_scale, max_scale, 3))
    shift = tuple(float(v) for v in rng.uniform(-max_shift, max_shift, 3))
    amplitude = rng.uniform(*elastic_mm)
    elastic = rng.standard_normal((3, control_points, control_points, control_points)) * amplitude
    shells = (
        float(rng.uniform(1.5, 3.0)),
        float(rng.uniform(4.0, 7.0)),
        float(rng.uniform(2.0, 5.0)),
        float(rng.uniform(1.5, 3.0)),
    )
    age = float(np.round(rng.uniform(*age_range), 1))
    has_lesion = rng.uniform() < lesion_probability
    template = load_template()
    centre = template.wm_points[rng.integers(len(template.wm_points))]
    radii = tuple(float(v) for v in rng.uniform(6.0, 15.0, 3))
    lesion_rotation = tuple(float(v) for v in rng.uniform(-90.0, 90.0, 3))
    return AnatomyParams(
        rotation=rotation,
        scale=scale,
        shift=shift,
        elastic=elastic.astype(np.float32),
        shells=shells,
        age=age,
        lesion_centre=tuple(float(v) for v in centre) if has_lesion else None,
        lesion_radii=radii,
        lesion_rotation=lesion_rotation,
    )


def rigid_matrix(rotation_deg: tuple[float, float, float], shift: tuple[float, float, float]) -> np.ndarray:
    """4x4 rigid transform (rotation about x, then y, then z, in degrees; shift in mm)."""
    return _affine(rotation_deg, (1.0, 1.0, 1.0), shift, centre=np.zeros(3))


def _rotation(angles_deg: tuple[float, float, float]) -> np.ndarray:
    ax, ay, az = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _affine(rotation_deg, scale, shift, centre: np.ndarray) -> np.ndarray:
    """4x4 map x -> R S (x - c) + c + t."""
    linear = _rotation(rotation_deg) @ np.diag(scale)
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = centre - linear @ centre + np.asarray(shift)
    return matrix


def output_affine(shape: tuple[int, int, int], spacing: float) -> np.ndarray:
    """RAS voxel-to-world affine of the simulated grid, centred on the head."""
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = _FOV_CENTRE - spacing * (np.asarray(shape) - 1) / 2.0
    return affine


def _world_grid(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij"), axis=-1)
    return idx @ affine[:3, :3].T + affine[:3, 3]


def _sample(volume: torch.Tensor, points_mm: np.ndarray, affine: np.ndarray) -> torch.Tensor:
    """Trilinear samples of ``volume`` (1, C, I, J, K) at world points (..., 3); returns (C, ...)."""
    inv = np.linalg.inv(affine)
    vox = points_mm @ inv[:3, :3].T + inv[:3, 3]
    sizes = np.array(volume.shape[2:], dtype=np.float64)
    norm = 2.0 * vox / (sizes - 1.0) - 1.0
    grid = torch.from_numpy(norm[..., ::-1].astype(np.float32).copy())
    out_shape = grid.shape[:-1]
    grid = grid.reshape(1, -1, 1, 1, 3)
    sampled = F.grid_sample(volume, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return sampled.reshape(volume.shape[1], *out_shape)


def _ramp(x: np.ndarray, width: float) -> np.ndarray:
    """Soft step 0 -> 1 over ``width`` mm around 0: partial volume at a shell boundary."""
    return np.clip(x / width + 0.5, 0.0, 1.0)


def render_fractions(
    params: AnatomyParams,
    shape: tuple[int, int, int],
    spacing: float,
    series_transform: np.ndarray | None = None,
) -> np.ndarray:
    """Tissue volume fractions of one subject on the output grid.

    Args:
        params: the subject's anatomy.
        shape: output grid size.
        spacing: output voxel size in mm (isotropic).
        series_transform: 4x4 rigid map applied to world points before the subject transform: the series
            then sees the anatomy that the reference series shows at ``series_transform @ x``.

    Returns:
        float32 array (len(TISSUES), *shape) of fractions in [0, 1] summing to at most 1 (the rest is air).
    """
    template = load_template()
    points = _world_grid(shape, output_affine(shape, spacing))
    if series_transform is not None:
        points = points @ series_transform[:3, :3].T + series_transform[:3, 3]
    # Elastic displacement: control grid spanning the field of view, trilinear upsampled at the points.
    fov = output_affine(shape, spacing)
    corner = fov[:3, 3]
    extent = spacing * (np.asarray(shape) - 1)
    elastic_affine = np.eye(4)
    n = params.elastic.shape[1]
    elastic_affine[:3, :3] = np.diag(extent / (n - 1))
    elastic_affine[:3, 3] = corner
    displacement = _sample(torch.from_numpy(params.elastic)[None], points, elastic_affine)
    points = points + np.moveaxis(displacement.numpy().astype(np.float64), 0, -1)
    subject = _affine(params.rotation, params.scale, params.shift, centre=template.brain_centre)
    to_template = np.linalg.inv(subject)
    head_points = points @ to_template[:3, :3].T + to_template[:3, 3]
    head = _sample(template.maps[:, 2:], head_points, template.affine).numpy()
    brain_mask, distance = head[0], head[1]
    shrink = (1.0 - params.atrophy) ** (1.0 / 3.0)
    brain_points = template.brain_centre + (head_points - template.brain_centre) / shrink
    gm, wm = _sample(template.maps[:, :2], brain_points, template.affine).numpy()
    gm = np.minimum(gm, brain_mask)
    wm = np.minimum(wm, brain_mask - gm)
    lesion = np.zeros_like(gm)
    if params.lesion_centre is not None:
        rot = _rotation(params.lesion_rotation)
        local = (head_points - np.asarray(params.lesion_centre)) @ rot / np.asarray(params.lesion_radii)
        radius = np.linalg.norm(local, axis=-1)
        lesion = _ramp((1.0 - radius) * float(np.mean(params.lesion_radii)), spacing) * (gm + wm)
        scale_down = 1.0 - np.divide(lesion, gm + wm, out=np.zeros_like(lesion), where=(gm + wm) > 0)
        gm, wm = gm * scale_down, wm * scale_down
    csf_inside = np.clip(brain_mask - gm - wm - lesion, 0.0, 1.0)
    outside = 1.0 - brain_mask
    edges = np.cumsum(params.shells)
    steps = [_ramp(distance - edge, spacing) for edge in edges]
    csf_outside = outside * (1.0 - steps[0])
    bone = steps[0] - steps[1]
    fat = steps[1] - steps[2]
    skin = steps[2] - steps[3]
    fractions = {
        "csf": csf_inside + csf_outside,
        "gm": gm,
        "wm": wm,
        "fat": fat,
        "bone": bone,
        "skin": skin,
        "lesion": lesion,
    }
    stacked = np.clip(np.stack([fractions[t] for t in TISSUES]), 0.0, 1.0)
    total = stacked.sum(axis=0)
    stacked = stacked / np.maximum(total, 1.0)
    return stacked.astype(np.float32)
