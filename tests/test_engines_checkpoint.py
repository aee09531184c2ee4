"""Checkpoints: atomic files, weights_only loading, schedules, and an exact resume at the engine level."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from prism.bundle import AtomicCheckpointSaver, IterationSeeder, ResumeCheckpointLoader, atomic_save, latest_checkpoint
from prism.engines import LossHistory, PretrainObjectives, PrismPretrainTrainer, WarmupCosineLR
from prism.networks import build_prism

from test_engines_pretrain_step import TINY, _batch


def _run(ckpt_dir: Path, max_epochs: int, seed: int = 3) -> PrismPretrainTrainer:
    torch.manual_seed(seed)
    model = build_prism("swin_b", **TINY)
    g_opt = torch.optim.AdamW(model.generator_parameters(), lr=1e-3)
    d_opt = torch.optim.AdamW(model.discriminator_parameters(), lr=1e-3)
    g_sched = WarmupCosineLR(g_opt, warmup_steps=1, total_steps=6)
    d_sched = WarmupCosineLR(d_opt, warmup_steps=1, total_steps=6)
    history = LossHistory(ckpt_dir / "curves")
    save_dict = {
        "model": model, "generator_optimizer": g_opt, "discriminator_optimizer": d_opt,
        "generator_scheduler": g_sched, "discriminator_scheduler": d_sched, "loss_history": history,
    }
    handlers = [IterationSeeder(seed), history, AtomicCheckpointSaver(ckpt_dir, save_dict, n_saved=1)]
    resume = latest_checkpoint(ckpt_dir)
    if resume is not None:
        handlers.insert(0, ResumeCheckpointLoader(resume, save_dict))
    trainer = PrismPretrainTrainer(
        "cpu", max_epochs, [_batch(seed=i) for i in range(2)], PretrainObjectives(model, "full"),
        g_opt, d_opt, g_sched, d_sched, train_handlers=handlers,
    )
    trainer.run()
    return trainer


@pytest.fixture
def one_thread():
    """CPU kernels reduce in a thread-dependent order; one thread makes two runs bitwise comparable."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_resume_matches_uninterrupted_run(tmp_path, one_thread):
    straight = _run(tmp_path / "a", max_epochs=3)
    _run(tmp_path / "b", max_epochs=1)  # "killed" after its first checkpoint
    assert latest_checkpoint(tmp_path / "b").endswith("checkpoint_iter000000002.pt")
    resumed = _run(tmp_path / "b", max_epochs=3)
    assert resumed.state.iteration == straight.state.iteration == 6
    a, b = straight.objectives.model.state_dict(), resumed.objectives.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    for opt in ("generator_optimizer", "discriminator_optimizer"):
        sa, sb = getattr(straight, opt).state_dict(), getattr(resumed, opt).state_dict()
        for idx in sa["state"]:
            torch.testing.assert_close(sa["state"][idx]["exp_avg"], sb["state"][idx]["exp_avg"], rtol=0, atol=0)
    assert straight.generator_scheduler.state_dict() == resumed.generator_scheduler.state_dict()
    # the loss history survived the resume: 6 iterations recorded, identical to the straight run's
    ha = torch.load(latest_checkpoint(tmp_path / "a"), weights_only=True)["loss_history"]
    hb = torch.load(latest_checkpoint(tmp_path / "b"), weights_only=True)["loss_history"]
    assert ha["iteration"] == hb["iteration"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert ha["loss"] == hb["loss"]
    assert (tmp_path / "b" / "curves" / "loss_curves.png").stat().st_size > 0
    assert (tmp_path / "b" / "model.pt").exists()


def test_checkpoint_loads_weights_only_with_every_state(tmp_path):
    trainer = _run(tmp_path, max_epochs=1)
    files = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert files == ["checkpoint_iter000000002.pt", "model.pt"]  # no temporary file left
    ckpt = torch.load(tmp_path / files[0], weights_only=True)
    assert set(ckpt) == {
        "model", "generator_optimizer", "discriminator_optimizer", "generator_scheduler",
        "discriminator_scheduler", "loss_history", "trainer",
    }
    assert ckpt["trainer"]["iteration"] == 2 and "amp" in ckpt["trainer"]
    model = torch.load(tmp_path / "model.pt", weights_only=True)
    assert model.keys() == trainer.objectives.model.state_dict().keys()


def test_n_saved_and_latest(tmp_path):
    obj = torch.nn.Linear(2, 2)
    saver = AtomicCheckpointSaver(tmp_path, {"model": obj}, n_saved=2, engine_key=None)

    class _State:
        iteration = 0

    class _Engine:
        state = _State()

    for it in (5, 10, 15):
        _Engine.state.iteration = it
        saver.save(_Engine)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["checkpoint_iter000000010.pt", "checkpoint_iter000000015.pt"]
    assert latest_checkpoint(tmp_path).endswith("checkpoint_iter000000015.pt")
    (tmp_path / ".checkpoint_iter000000020.pt.tmp123").write_bytes(b"partial")  # an interrupted save
    assert latest_checkpoint(tmp_path).endswith("checkpoint_iter000000015.pt")
    assert latest_checkpoint(tmp_path / "missing") is None
    with pytest.raises(ValueError, match="final_key"):
        AtomicCheckpointSaver(tmp_path, {"net": obj})
    with pytest.raises(ValueError, match="state_dict"):
        AtomicCheckpointSaver(tmp_path, {"model": 3})


def test_atomic_save_replaces(tmp_path):
    path = atomic_save({"a": torch.ones(2)}, tmp_path / "x.pt")
    atomic_save({"a": torch.zeros(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.zeros(2))
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_warmup_cosine_schedule():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = WarmupCosineLR(opt, warmup_steps=4, total_steps=14, min_lr_ratio=0.1)
    lrs = []
    for _ in range(14):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lrs[4] == pytest.approx(1.0)
    assert lrs[9] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    state = sched.state_dict()
    torch.save(state, "/dev/null")
    for bad in (dict(total_steps=0), dict(warmup_steps=5, total_steps=5), dict(min_lr_ratio=2.0)):
        with pytest.raises(ValueError):
            WarmupCosineLR(opt, **{"total_steps": 10, **bad})
