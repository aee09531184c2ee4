"""Crops per second for pretraining: straight from .nii.gz versus from the memory-mapped array cache.

Both paths produce the same crops (same preprocessing: RAS, 1 mm, percentile normalisation; same crop
transform). The direct path loads, decompresses and resamples the whole volume for every crop; the cache
path does that once per volume (timed separately) and then reads only the crop from the ``.npy``.

Usage::

    python tools/benchmark_crops.py                      # simulates 2 subjects x 2 series (1.2 mm, 160x192x160)
    python tools/benchmark_crops.py --datalist datalist.json --crops 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from prism.data.cache import CachedVolumeDataset, build_cache
from prism.data.datalist import load_datalist
from prism.transforms import RandCropPadd, preprocessing_transforms
from monai.transforms import Compose


def _rate(dataset, n_crops: int) -> float:
    start = time.perf_counter()
    for i in range(n_crops):
        item = dataset[i % len(dataset)]
        if item["image"].shape[1:] != (96, 96, 96):
            raise RuntimeError(f"unexpected crop shape {tuple(item['image'].shape)}")
    return n_crops / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datalist", default=None, help="[OPTIONAL] datalist JSON; default: simulate volumes")
    parser.add_argument("--crops", type=int, default=12, help="[OPTIONAL] crops timed on the direct path")
    parser.add_argument("--cache_crops", type=int, default=200, help="[OPTIONAL] crops timed on the cache path")
    parser.add_argument("--workdir", default=None, help="[OPTIONAL] folder for simulated data and the cache")
    args = parser.parse_args()
    torch.set_num_threads(1)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="prism_bench_"))
    if args.datalist is None:
        from prism.data.datalist import make_record
        from prism.data.simulator import simulate_corpus

        subjects = simulate_corpus(
            work / "sim", subjects=2, seed=0, shape=(160, 192, 160), spacing=1.2, sequences=["t1w_se", "t2w"]
        )
        records = [make_record(p, s["subject"]) for s in subjects for p in s["images"].values()]
    else:
        records = load_datalist(args.datalist, "training")
    from monai.data import Dataset

    direct = Dataset(records, transform=Compose([*preprocessing_transforms().transforms, RandCropPadd("image", 96)]))
    direct.transform.set_random_state(0)
    direct_rate = _rate(direct, args.crops)

    start = time.perf_counter()
    cached_records = build_cache(records, work / "cache")
    build_s = time.perf_counter() - start
    cached = CachedVolumeDataset(cached_records, transform=RandCropPadd("image", 96))
    cached.transform.set_random_state(0)
    cache_rate = _rate(cached, args.cache_crops)

    shape = tuple(CachedVolumeDataset(cached_records[:1])[0]["image"].shape[1:])
    print(f"volumes: {len(records)}, resampled to 1 mm: {shape}, crop 96^3, 1 thread")
    print(f"direct from .nii.gz : {direct_rate:8.2f} crops/s")
    print(f"memory-mapped cache : {cache_rate:8.2f} crops/s  (cache built once in {build_s:.1f} s)")
    print(f"ratio cache/direct  : {cache_rate / direct_rate:8.1f}x")


if __name__ == "__main__":
    main()
