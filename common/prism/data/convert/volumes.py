"""Reading and writing volumes with their world geometry, and measuring how far two grids disagree.

Geometry is a voxel grid (shape) plus a 4x4 affine from voxel index to RAS millimetres, the convention of
NIfTI and of MONAI's ``MetaTensor.affine``. NIfTI (and Analyze) files are read with nibabel; MetaImage
(``.mha``/``.mhd``), NRRD and the rest with ITK, whose LPS direction, spacing and origin are turned into the
same RAS affine MONAI's ``ITKReader`` gives (tested against it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

__all__ = ["GridDifference", "Volume", "grid_difference", "read_grid", "read_volume", "resample_to", "write_nifti"]

_NIBABEL = (".nii", ".nii.gz", ".hdr", ".img")
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class Volume:
    """Voxels indexed (x, y, z[, channels]) and the RAS affine of the first three axes."""

    array: np.ndarray
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _itk_affine(image) -> np.ndarray:
    import itk

    direction = itk.array_from_matrix(image.GetDirection())
    spacing = np.asarray(image.GetSpacing(), dtype=np.float64)
    origin = np.asarray(image.GetOrigin(), dtype=np.float64)
    k = min(len(spacing), 3)
    affine = np.eye(4)
    affine[:k, :k] = direction[:k, :k] * spacing[:k]
    affine[:k, 3] = origin[:k]
    return _LPS_TO_RAS @ affine


def _itk_read(source: Path):
    """Read with ITK; multi-component files (Slicer's layered ``.seg.nrrd``) as a float vector image."""
    import itk

    io = itk.ImageIOFactory.CreateImageIO(str(source), itk.CommonEnums.IOFileMode_ReadMode)
    if io is None:
        raise ValueError("no ITK reader for this file")
    io.SetFileName(str(source))
    io.ReadImageInformation()
    if io.GetNumberOfComponents() > 1:
        reader = itk.ImageFileReader[itk.VectorImage[itk.F, io.GetNumberOfDimensions()]].New(FileName=str(source))
        reader.Update()
        return reader.GetOutput()
    return itk.imread(str(source))


def read_volume(path: str | Path) -> Volume:
    """Load a volume with its RAS affine.

    Raises:
        ValueError: naming the file when it cannot be read (missing, truncated, not an image).
    """
    source = Path(path)
    if not source.is_file():
        raise ValueError(f"{source}: file not found.")
    try:
        if _suffix(source) in _NIBABEL:
            image = nib.load(str(source))
            return Volume(np.asanyarray(image.dataobj), np.asarray(image.affine, dtype=np.float64))
        image = _itk_read(source)
        import itk

        array = itk.array_from_image(image)
        spatial = image.GetImageDimension()
        # ITK arrays are (z, y, x[, components]); ours are (x, y, z[, components]).
        order = tuple(reversed(range(spatial))) + tuple(range(spatial, array.ndim))
        return Volume(np.transpose(array, order), _itk_affine(image))
    except Exception as error:  # nibabel, gzip, zlib and ITK raise many types on damaged files
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(f"{source}: cannot read the image ({type(error).__name__}: {first[:300]}).") from error


def read_grid(path: str | Path) -> tuple[tuple[int, ...], np.ndarray]:
    """Shape and RAS affine of a volume, reading only the header where the format allows (NIfTI).

    Raises:
        ValueError: as :func:`read_volume`.
    """
    source = Path(path)
    if _suffix(source) in _NIBABEL and source.is_file():
        try:
            image = nib.load(str(source))
            return tuple(int(s) for s in image.shape), np.asarray(image.affine, dtype=np.float64)
        except Exception as error:
            raise ValueError(f"{source}: cannot read the image header ({type(error).__name__}: {error}).") from error
    volume = read_volume(source)
    return volume.shape, volume.affine


def write_nifti(path: str | Path, array: np.ndarray, affine: np.ndarray, label: bool = False) -> Path:
    """Write a NIfTI volume with qform and sform set to ``affine``; labels as the smallest integer type that fits.

    Raises:
        ValueError: for a label map with values outside uint8/int16/int32.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = np.asarray(array)
    if label:
        low, high = (int(data.min()), int(data.max())) if data.size else (0, 0)
        for dtype in (np.uint8, np.int16, np.int32):
            if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
                data = data.astype(dtype)
                break
        else:
            raise ValueError(f"{out}: label values {low}..{high} do not fit in int32.")
    elif data.dtype == np.float64:
        data = data.astype(np.float32)
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, str(out))
    return out


@dataclass(frozen=True)
class GridDifference:
    """How two voxel grids differ: shapes, and the largest distance between corresponding corner voxels (mm)."""

    shape_a: tuple[int, ...]
    shape_b: tuple[int, ...]
    corner_mm: float
    spacing_mm: float
    origin_mm: float
    rotation_deg: float

    @property
    def same_shape(self) -> bool:
        return self.shape_a[:3] == self.shape_b[:3]

    def agrees(self, tolerance_mm: float) -> bool:
        """Same spatial shape and no corner further apart than ``tolerance_mm``."""
        return self.same_shape and self.corner_mm <= tolerance_mm

    def describe(self) -> str:
        """``"shapes (4, 4, 3) vs (4, 4, 2)"`` or ``"corners up to 0.52 mm apart (spacing 0.5 mm, ...)"``."""
        if not self.same_shape:
            return f"shapes {self.shape_a[:3]} vs {self.shape_b[:3]}"
        return (
            f"corners up to {self.corner_mm:.3g} mm apart (spacing differs by {self.spacing_mm:.3g} mm, origin by "
            f"{self.origin_mm:.3g} mm, axes by {self.rotation_deg:.3g} degrees)"
        )


def _corners(shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    extent = [max(int(s) - 1, 0) for s in shape[:3]]
    grid = np.array(np.meshgrid(*[[0, e] for e in extent], indexing="ij")).reshape(3, -1)
    return (affine[:3, :3] @ grid + affine[:3, 3:4]).T


def grid_difference(
    shape_a: tuple[int, ...], affine_a: np.ndarray, shape_b: tuple[int, ...], affine_b: np.ndarray
) -> GridDifference:
    """Compare two grids: spatial shapes, corner positions, voxel sizes, origins and axis directions."""
    spacing_a = np.linalg.norm(affine_a[:3, :3], axis=0)
    spacing_b = np.linalg.norm(affine_b[:3, :3], axis=0)
    axes_a = affine_a[:3, :3] / np.where(spacing_a > 0, spacing_a, 1)
    axes_b = affine_b[:3, :3] / np.where(spacing_b > 0, spacing_b, 1)
    cosines = np.clip(np.sum(axes_a * axes_b, axis=0), -1.0, 1.0)
    corners = (
        float(np.max(np.linalg.norm(_corners(shape_a, affine_a) - _corners(shape_a, affine_b), axis=1)))
        if tuple(shape_a[:3]) == tuple(shape_b[:3])
        else float("inf")
    )
    return GridDifference(
        shape_a=tuple(int(s) for s in shape_a),
        shape_b=tuple(int(s) for s in shape_b),
        corner_mm=corners,
        spacing_mm=float(np.max(np.abs(spacing_a - spacing_b))),
        origin_mm=float(np.linalg.norm(affine_a[:3, 3] - affine_b[:3, 3])),
        rotation_deg=float(np.degrees(np.max(np.arccos(cosines)))),
    )


def resample_to(volume: Volume, shape: tuple[int, ...], affine: np.ndarray, order: int = 0) -> np.ndarray:
    """``volume`` sampled on another grid by world position (``order`` 0: nearest, for labels; 1: linear).

    Voxels of the target grid that fall outside ``volume`` get 0.
    """
    from scipy.ndimage import map_coordinates

    target = np.indices(tuple(shape[:3]), dtype=np.float64).reshape(3, -1)
    world = affine[:3, :3] @ target + affine[:3, 3:4]
    inverse = np.linalg.inv(volume.affine)
    source = inverse[:3, :3] @ world + inverse[:3, 3:4]
    values = map_coordinates(
        np.asarray(volume.array, dtype=np.float64 if order else volume.array.dtype),
        source,
        order=order,
        mode="constant",
        cval=0.0,
    )
    return values.reshape(tuple(shape[:3])).astype(volume.array.dtype if order == 0 else np.float32)
