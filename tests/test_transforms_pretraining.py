"""Pretraining transforms: shapes, mask fraction, determinism, metadata tensors, validation errors, cache."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import DataLoader, Dataset, MetaTensor, list_data_collate

from prism.data.cache import CachedVolumeDataset, build_cache
from prism.data.datalist import make_record
from prism.transforms import (
    AcquisitionMetadatad,
    NormalizeIntensityMRId,
    RandBlockMaskd,
    RandCropPadd,
    RandReorientd,
    cached_pretraining_transforms,
    pretraining_transforms,
)


def _volume(shape: tuple[int, ...] = (40, 30, 20), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = np.zeros(shape, dtype=np.float32)
    data[4:-4, 4:-4, 3:-3] = 100 + 20 * rng.standard_normal((shape[0] - 8, shape[1] - 8, shape[2] - 6))
    return data


def _nifti(path: Path, data: np.ndarray, spacing: tuple[float, float, float] = (1.5, 2.0, 2.5)) -> Path:
    nib.save(nib.Nifti1Image(data, np.diag([*spacing, 1.0])), path)
    return path


@pytest.mark.parametrize("shape", [(50, 60, 70), (20, 100, 96), (8, 8, 8)])
def test_crop_pad_shapes_and_content(shape: tuple[int, int, int]) -> None:
    image = torch.arange(np.prod(shape), dtype=torch.float32).reshape(1, *shape) + 1
    crop = RandCropPadd(keys=["image", "label"], roi_size=32)
    crop.set_random_state(3)
    out = crop({"image": image, "label": image * 2})
    assert out["image"].shape == (1, 32, 32, 32)
    assert torch.equal(out["label"], out["image"] * 2)  # same window for all keys
    inside = out["image"][out["image"] > 0]
    expected = min(np.prod(shape), 32**3) if min(shape) >= 32 else np.prod([min(s, 32) for s in shape])
    assert inside.numel() == expected  # padded voxels are 0, every kept voxel is from the volume
    assert len(torch.unique(inside)) == inside.numel()


def test_crop_from_memmap_equals_tensor(tmp_path: Path) -> None:
    array = np.random.default_rng(0).random((1, 50, 40, 30), dtype=np.float32)
    np.save(tmp_path / "a.npy", array)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    crops = []
    for value in (mapped, torch.from_numpy(array)):
        crop = RandCropPadd(keys="image", roi_size=(32, 48, 16))
        crop.set_random_state(7)
        crops.append(crop({"image": value})["image"])
    assert torch.equal(crops[0], crops[1]) and crops[0].shape == (1, 32, 48, 16)


def test_crop_updates_affine() -> None:
    image = MetaTensor(torch.rand(1, 40, 40, 40), affine=torch.diag(torch.tensor([2.0, 2.0, 2.0, 1.0])))
    crop = RandCropPadd(keys="image", roi_size=16)
    crop.set_random_state(0)
    out = crop({"image": image})["image"]
    start = np.array(crop._starts)
    assert torch.allclose(out.affine[:3, 3].float(), torch.tensor(2.0 * start, dtype=torch.float32))
    window = tuple(slice(s, s + 16) for s in start)
    assert torch.equal(out.as_tensor(), image.as_tensor()[(slice(None), *window)])


def test_reorient_is_a_permutation_with_consistent_affine() -> None:
    shape = (6, 8, 10)
    image = MetaTensor(torch.rand(1, *shape), affine=torch.tensor(
        [[1.0, 0.1, 0, 5], [0, 2.0, 0, -3], [0.2, 0, 3.0, 1], [0, 0, 0, 1]], dtype=torch.float64))
    seen = set()
    for seed in range(20):
        flip = RandReorientd(keys="image", flip_prob=0.5)
        flip.set_random_state(seed)
        out = flip({"image": image})["image"]
        seen.add((flip.order, flip.flips))
        assert sorted(out.shape[1:]) == sorted(shape)
        # Every voxel keeps its world position: compare a few voxels through the affines.
        for n in [(0, 0, 0), (1, 2, 3), tuple(s - 1 for s in out.shape[1:])]:
            world = out.affine @ torch.tensor([*n, 1.0], dtype=torch.float64)
            old = torch.linalg.solve(image.affine, world)[:3].round().long().tolist()
            assert out[(0, *n)] == image[(0, *old)]
    assert len(seen) > 5


def test_block_mask_fraction_and_determinism() -> None:
    image = torch.rand(1, 96, 96, 96)
    masks = []
    for seed in (1, 1, 2):
        masker = RandBlockMaskd(keys="image", mask_ratio=0.3, block_size=16)
        masker.set_random_state(seed)
        out = masker({"image": image})
        masks.append(out["mask"])
        # 216 blocks, round(0.3 * 216) = 65 hidden: exactly 65/216 of the voxels
        assert out["mask"].mean().item() == pytest.approx(65 / 216)
        assert torch.equal(out["target"], image)
        assert torch.all(out["image"][out["mask"] > 0] == 0)
        assert torch.equal(out["image"][out["mask"] == 0], image[out["mask"] == 0])
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])
    with pytest.raises(ValueError, match="mask_ratio"):
        RandBlockMaskd(mask_ratio=1.5)


def test_normalisation_modes() -> None:
    data = torch.from_numpy(_volume())[None] * 3.0 + 50.0 * (torch.from_numpy(_volume()) > 0)[None]
    out = NormalizeIntensityMRId(keys="image")({"image": data})["image"]
    fg = data > 10
    assert out.min() == 0 and out.max() == 1
    assert out[fg].median() == pytest.approx(0.5, abs=0.1)
    z = NormalizeIntensityMRId(keys="image", mode="zscore", clip=None)({"image": data})["image"]
    assert z[fg].mean() == pytest.approx(0.0, abs=0.05) and z[fg].std() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="no foreground|constant"):
        NormalizeIntensityMRId(keys="image")({"image": torch.zeros(1, 8, 8, 8)})


def test_acquisition_metadata_tensors() -> None:
    record = make_record("x.nii.gz", "s1", sequence="FLAIR", tr=9000.0, te=None, flip_angle=90.0, body_region="brain")
    out = AcquisitionMetadatad()(record)
    assert out["acquisition"].shape == (3,) and out["acquisition"].dtype == torch.float32
    assert out["acquisition_valid"].tolist() == [True, False, True]
    assert out["acquisition"][1] == 0 and out["acquisition"][2] == pytest.approx(1.0)
    assert out["region"].item() == 0 and out["sequence_index"].item() == 3
    assert np.isnan(out["te"]) and out["session"] == ""
    unknown = AcquisitionMetadatad()(make_record("y.nii.gz", "s2"))
    assert unknown["region"].item() == -1 and not unknown["acquisition_valid"].any()
    batch = list_data_collate([out, unknown])
    assert batch["acquisition"].shape == (2, 3)
    with pytest.raises(ValueError, match="z.nii.gz"):
        AcquisitionMetadatad()({**make_record("z.nii.gz", "s3"), "tr": -5.0, "source": "z.nii.gz"})


def _root_cause(error: BaseException) -> BaseException:
    """MONAI's Compose wraps a transform's error in RuntimeError("applying transform ..."): unwrap it."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def test_validation_names_the_file(tmp_path: Path) -> None:
    data = _volume()
    data[1, 2, 3] = np.nan
    path = _nifti(tmp_path / "broken.nii.gz", data)
    with pytest.raises(RuntimeError) as info:
        pretraining_transforms(roi_size=16)({"image": str(path)})
    cause = _root_cause(info.value)
    assert isinstance(cause, ValueError) and str(cause) == f"{path}: image 'image' holds 1 NaN voxel(s)."
    flat = _nifti(tmp_path / "flat.nii.gz", np.ones((10, 10, 1), np.float32))
    with pytest.raises(RuntimeError) as info:
        pretraining_transforms(roi_size=16)({"image": str(flat)})
    assert "flat.nii.gz: spatial size" in str(_root_cause(info.value))


def test_pipeline_output_and_seeded_determinism(tmp_path: Path) -> None:
    path = _nifti(tmp_path / "v.nii.gz", _volume())
    record = make_record(path, "s1", sequence="T1W", tr=500.0, te=10.0, flip_angle=90.0, body_region="brain")
    outs = []
    for _ in range(2):
        chain = pretraining_transforms(roi_size=32, block_size=8)
        chain.set_random_state(11)
        outs.append(chain(dict(record)))
    out = outs[0]
    assert out["image"].shape == out["target"].shape == out["mask"].shape == (1, 32, 32, 32)
    assert torch.equal(out["image"], outs[1]["image"]) and torch.equal(out["mask"], outs[1]["mask"])
    assert out["mask"].mean().item() == pytest.approx(round(0.3 * 64) / 64)
    loader = DataLoader(Dataset([record, record], transform=pretraining_transforms(roi_size=32)), batch_size=2)
    batch = next(iter(loader))
    assert batch["image"].shape == (2, 1, 32, 32, 32) and batch["acquisition_valid"].all()


def test_cache_gives_the_same_crops(tmp_path: Path) -> None:
    records = [
        make_record(_nifti(tmp_path / f"v{i}.nii.gz", _volume(seed=i)), f"s{i}", sequence="T2W") for i in range(2)
    ]
    cached = build_cache(records, tmp_path / "cache", dtype="float32")
    assert all(r["image"].endswith(".npy") and r["source"] == rec["image"] for r, rec in zip(cached, records))
    direct = Dataset(records, transform=pretraining_transforms(roi_size=24, block_size=8))
    from_cache = CachedVolumeDataset(cached, transform=cached_pretraining_transforms(roi_size=24, block_size=8))
    for seed in (0, 5):
        direct.transform.set_random_state(seed)
        from_cache.transform.set_random_state(seed)
        for i in range(2):
            a, b = direct[i], from_cache[i]
            assert torch.equal(torch.as_tensor(a["target"]).as_subclass(torch.Tensor), b["target"])
            assert torch.equal(a["mask"], b["mask"])
    # float16 storage: same crops up to float16 rounding; entries are reused, not rebuilt
    half = build_cache(records, tmp_path / "cache16")
    mtime = Path(half[0]["image"]).stat().st_mtime_ns
    assert build_cache(records, tmp_path / "cache16") == half
    assert Path(half[0]["image"]).stat().st_mtime_ns == mtime
    direct.transform.set_random_state(3)
    half_ds = CachedVolumeDataset(half, transform=cached_pretraining_transforms(roi_size=24, block_size=8))
    half_ds.transform.set_random_state(3)
    a, b = direct[1], half_ds[1]
    assert torch.allclose(torch.as_tensor(a["target"]), b["target"], atol=1e-3)


def test_simulated_corpus_batches(tmp_path: Path) -> None:
    """Simulator -> prism corpus -> datalist -> CacheDataset + pretraining chain -> collated batch."""
    from monai.data import CacheDataset, load_decathlon_datalist

    from prism.data.corpus import corpus_command
    from prism.data.simulator import simulate_corpus

    simulate_corpus(tmp_path / "sim", subjects=2, seed=0, shape=20, spacing=12.0, sequences=["t2w", "dce"])
    datalist = tmp_path / "lists" / "datalist.json"
    corpus_command(str(tmp_path / "sim"), out=str(datalist), val_fraction=0.5)
    records = load_decathlon_datalist(str(datalist), data_list_key="training")
    records[0]["te"] = None  # a batch mixing known and unknown values must still collate
    chain = pretraining_transforms(pixdim=6.0, roi_size=32, block_size=8)
    dataset = CacheDataset(records, transform=chain, cache_rate=1.0, num_workers=0, progress=False)
    batch = next(iter(DataLoader(dataset, batch_size=2, shuffle=False)))
    assert batch["image"].shape == batch["target"].shape == batch["mask"].shape == (2, 1, 32, 32, 32)
    assert batch["acquisition"].shape == (2, 3)
    assert batch["acquisition_valid"].tolist() == [[True, False, True], [True, True, True]]
    assert batch["region"].tolist() == [0, 0]
