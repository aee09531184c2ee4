"""Rigid registration of one volume onto another (mutual information, ITK v4), for HaN-Seg's MR -> CT.

ITK's registration framework does the work: a versor rigid transform initialised by the images' centres of
mass, Mattes mutual information (works across CT and MR intensities), a regular-step gradient descent
scaled by physical shifts, two resolution levels. The result is checked by the caller's report (metric
value, iterations); it is a starting point for data like HaN-Seg's, not a substitute for looking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prism.data.convert.volumes import Volume

__all__ = ["RigidResult", "register_rigid"]

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class RigidResult:
    """The moving volume resampled onto the fixed grid, the world (RAS) transform fixed -> moving, and how it went."""

    resampled: np.ndarray
    fixed_to_moving: np.ndarray
    metric: float
    iterations: int
    stop: str


def _itk_image(volume: Volume):
    """A float ITK image with the volume's geometry (RAS affine -> LPS direction, spacing, origin)."""
    import itk

    array = np.ascontiguousarray(np.asarray(volume.array, dtype=np.float32).transpose(2, 1, 0))
    image = itk.image_from_array(array)
    lps = _LPS_TO_RAS @ volume.affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    image.SetSpacing([float(s) for s in spacing])
    image.SetOrigin([float(o) for o in lps[:3, 3]])
    image.SetDirection(itk.matrix_from_array(np.ascontiguousarray(lps[:3, :3] / spacing)))
    return image


def register_rigid(fixed: Volume, moving: Volume, iterations: int = 300) -> RigidResult:
    """Register ``moving`` onto ``fixed`` rigidly and resample it on ``fixed``'s grid (linear)."""
    import itk

    fixed_image, moving_image = _itk_image(fixed), _itk_image(moving)
    image_type = type(fixed_image)
    transform_type = itk.VersorRigid3DTransform[itk.D]
    transform = transform_type.New()
    initializer = itk.CenteredTransformInitializer[transform_type, image_type, image_type].New(
        Transform=transform, FixedImage=fixed_image, MovingImage=moving_image
    )
    initializer.MomentsOn()
    initializer.InitializeTransform()
    metric = itk.MattesMutualInformationImageToImageMetricv4[image_type, image_type].New(NumberOfHistogramBins=32)
    optimizer = itk.RegularStepGradientDescentOptimizerv4[itk.D].New(
        LearningRate=1.0, MinimumStepLength=1e-4, NumberOfIterations=iterations, RelaxationFactor=0.5
    )
    optimizer.SetScalesEstimator(itk.RegistrationParameterScalesFromPhysicalShift[type(metric)].New(Metric=metric))
    method = itk.ImageRegistrationMethodv4[image_type, image_type].New(
        FixedImage=fixed_image,
        MovingImage=moving_image,
        Metric=metric,
        Optimizer=optimizer,
        InitialTransform=transform,
        InPlace=True,
    )
    method.SetNumberOfLevels(2)
    method.SetShrinkFactorsPerLevel([2, 1])
    method.SetSmoothingSigmasPerLevel([1, 0])
    method.Update()
    resampled = itk.resample_image_filter(
        moving_image, transform=transform, use_reference_image=True, reference_image=fixed_image, default_pixel_value=0
    )
    matrix = np.eye(4)
    matrix[:3, :3] = itk.array_from_matrix(transform.GetMatrix())
    matrix[:3, 3] = np.asarray(transform.GetOffset())
    return RigidResult(
        resampled=itk.array_from_image(resampled).transpose(2, 1, 0).astype(np.float32),
        fixed_to_moving=_LPS_TO_RAS @ matrix @ _LPS_TO_RAS,
        metric=float(optimizer.GetValue()),
        iterations=int(optimizer.GetCurrentIteration()),
        stop=str(optimizer.GetStopConditionDescription()),
    )
