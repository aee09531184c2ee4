"""Time one PRISM pretraining step next to one SwinUNETR self-supervised step, same backbone, same input.

The SwinUNETR step follows Tang et al. (CVPR 2022) as in MONAI's research code, built here from MONAI parts: two
augmented views of the batch (random 90-degree rotation about one axis + random cube cut-out), a Swin backbone
with a rotation head (4 classes), a contrastive head (512-d, ``monai.losses.ContrastiveLoss`` between the two
views) and an inpainting decoder (L1 to the un-cut image). The PRISM step is :class:`PrismPretrainTrainer`'s
iteration with all four objectives (generator and discriminator updates).

Each method runs in its own subprocesses (``--rounds`` of them, alternating with the other method; the fastest
step of all is reported, which is the figure least disturbed by other jobs on the machine), so peak memory is that process's own: ``torch.cuda.max_memory_allocated``
on CUDA, the maximum resident set size (``resource.getrusage``) on CPU, reported with the resident size just
before the first step (model, optimizer and interpreter) so the step's own share can be read off.

    python tools/benchmark_pretrain_step.py                       # CPU default: feature 24, 64^3, batch 2
    python tools/benchmark_pretrain_step.py --preset swin_b --size 96 --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["SwinSSLHead", "main"]


class SwinSSLHead(nn.Module):
    """Swin backbone + rotation, contrastive and inpainting heads (after Tang et al. 2022), from MONAI parts."""

    def __init__(self, backbone_kwargs: dict, in_channels: int = 1, contrastive_dim: int = 512) -> None:
        super().__init__()
        from prism.networks import build_swin_backbone

        self.swinViT = build_swin_backbone(in_channels=in_channels, **backbone_kwargs)
        dim = backbone_kwargs["feature_size"] * 16
        self.rotation_head = nn.Linear(dim, 4)
        self.contrastive_head = nn.Linear(dim, contrastive_dim)
        chans = [dim // 2**i for i in range(6)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [nn.ConvTranspose3d(c_in, c_out, 2, stride=2), nn.InstanceNorm3d(c_out), nn.LeakyReLU()]
        layers.append(nn.Conv3d(chans[-1], in_channels, 1))
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        deep = self.swinViT(x.contiguous())[4]
        pooled = deep.flatten(2).mean(2)
        return self.rotation_head(pooled), self.contrastive_head(pooled), self.decoder(deep)


def _ssl_views(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rotate each image by k*90 degrees (k the label) in the H-W plane, then cut out a random cube."""
    rots = torch.randint(0, 4, (x.shape[0],), generator=generator)
    rotated = torch.stack([torch.rot90(img, int(k), dims=(2, 3)) for img, k in zip(x, rots)])
    cut = rotated.clone()
    s = x.shape[-1]
    for img in cut:
        c = torch.randint(0, s // 2, (3,), generator=generator)
        img[:, c[0] : c[0] + s // 4, c[1] : c[1] + s // 4, c[2] : c[2] + s // 4] = 0
    return cut, rotated, rots.to(x.device)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _worker(args: argparse.Namespace) -> dict:
    from prism.networks import build_prism, get_preset

    torch.manual_seed(0)
    device = torch.device(args.device)
    preset = get_preset(args.preset)
    if args.feature_size:
        preset["feature_size"] = args.feature_size
    backbone = {k: preset[k] for k in ("feature_size", "depths", "num_heads", "window_size", "patch_size")}
    b, s = args.batch, args.size
    g = torch.Generator().manual_seed(0)
    x = torch.rand(b, 1, s, s, s, generator=g)
    times = []
    if args.worker == "prism":
        from prism.engines import PretrainObjectives, PrismPretrainTrainer
        from ignite.engine import Events

        model = build_prism(args.preset, **backbone).to(device)
        mask = torch.zeros_like(x, dtype=torch.bool)
        mask[..., : s // 4, : s // 4, : s // 4] = True
        batch = {
            "image": torch.where(mask, 0.0, x), "target": x, "mask": mask,
            "acquisition": torch.rand(b, 3, generator=g), "acquisition_valid": torch.ones(b, 3, dtype=torch.bool),
            "region": torch.zeros(b, dtype=torch.long),
        }
        g_opt = torch.optim.AdamW(model.generator_parameters(), lr=1e-4)
        d_opt = torch.optim.AdamW(model.discriminator_parameters(), lr=1e-4)
        trainer = PrismPretrainTrainer(
            device, 1, [batch] * (args.warmup + args.repeats), PretrainObjectives(model, "full"), g_opt, d_opt,
            amp=args.amp,
        )
        stamps: list[float] = []
        trainer.add_event_handler(Events.ITERATION_STARTED, lambda e: stamps.append(time.perf_counter()))
        trainer.add_event_handler(
            Events.ITERATION_COMPLETED,
            lambda e: (torch.cuda.synchronize() if device.type == "cuda" else None, times.append(time.perf_counter() - stamps[-1])),
        )
        n_params = sum(p.numel() for p in model.parameters())
        before = _current_rss_mb()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        trainer.run()
    else:
        from monai.losses import ContrastiveLoss

        model = SwinSSLHead(backbone).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        contrastive = ContrastiveLoss(temperature=0.5)
        n_params = sum(p.numel() for p in model.parameters())
        before = _current_rss_mb()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        for _ in range(args.warmup + args.repeats):
            t0 = time.perf_counter()
            v1, r1, k1 = _ssl_views(x, g)
            v2, r2, k2 = _ssl_views(x, g)
            views = torch.cat([v1, v2]).to(device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=args.amp and device.type == "cuda"):
                rot, con, rec = model(views)
                loss = (
                    F.cross_entropy(rot.float(), torch.cat([k1, k2]))
                    + contrastive(con[:b].float(), con[b:].float())
                    + F.l1_loss(rec.float(), torch.cat([r1, r2]).to(device))
                )
            opt.zero_grad()
            loss.backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    measured = times[args.warmup :]
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else _rss_mb()
    return {
        "method": args.worker,
        "params_m": n_params / 1e6,
        "step_s": min(measured),
        "step_s_all": measured,
        "peak_mb": peak,
        "pre_step_rss_mb": before,
        "memory": "cuda max_memory_allocated" if device.type == "cuda" else "max RSS",
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="swin_b", help="backbone preset (depths, heads) [default swin_b]")
    parser.add_argument("--feature-size", type=int, default=24, help="Swin width F, 0 keeps the preset's [24]")
    parser.add_argument("--size", type=int, default=64, help="input cube edge, multiple of 32 [64]")
    parser.add_argument("--batch", type=int, default=2, help="batch size [2]")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per process (fastest reported) [3]")
    parser.add_argument("--rounds", type=int, default=2, help="processes per method, alternating (fastest kept) [2]")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first [1]")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", action="store_true", help="autocast + GradScaler (CUDA only)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads, 0 = torch default")
    parser.add_argument("--worker", choices=("prism", "ssl"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size % 32:
        parser.error(f"--size must be a multiple of 32, got {args.size}")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        result = _worker(args)
        print(json.dumps(result))
        return result
    base = [a for a in (argv if argv is not None else sys.argv[1:])]
    results: dict = {}
    for _ in range(args.rounds):  # alternate the methods so that load from other jobs hits both alike
        for method in ("prism", "ssl"):
            proc = subprocess.run(
                [sys.executable, __file__, *base, "--worker", method], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise RuntimeError(f"{method} worker failed:\n{proc.stderr[-3000:]}")
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            best = results.get(method)
            results[method] = run if best is None or run["step_s"] < best["step_s"] else best
    p, s = results["prism"], results["ssl"]
    print(
        f"backbone {args.preset} F={args.feature_size or 'preset'}, input {args.batch}x1x{args.size}^3, "
        f"device {args.device}, amp {args.amp}, torch threads {torch.get_num_threads()}"
    )
    print(f"{'method':<26}{'params (M)':>11}{'step (s)':>10}{'peak (MB)':>11}{'pre-step (MB)':>15}")
    for name, r in (("PRISM (4 objectives, G+D)", p), ("SwinUNETR SSL (rot+con+rec)", s)):
        print(f"{name:<26}{r['params_m']:>11.2f}{r['step_s']:>10.2f}{r['peak_mb']:>11.0f}{r['pre_step_rss_mb']:>15.0f}")
    ratio = p["step_s"] / s["step_s"]
    print(f"time ratio PRISM / SwinUNETR-SSL = {ratio:.2f}; peak memory ratio = {p['peak_mb'] / s['peak_mb']:.2f} ({p['memory']})")
    results["ratio"] = ratio
    return results


if __name__ == "__main__":
    main()
