"""Kill-and-resume of a segmentation bundle's training: the rolling checkpoint, its content and an exact replay.

One tiny bundle (AMOS, one channel, feature size 12, 6.25 mm voxels) trains for two epochs uninterrupted, and
again with a stop after epoch 1 followed by a fresh run that resumes from the checkpoint; both must end with
identical weights, optimizer and scheduler states and the same best ``models/model.pt``.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import torch
from ignite.engine import Events
from monai.bundle import ConfigWorkflow

from prism.bundle import latest_checkpoint
from prism.tasks import get_task
from prism.data.synthetic import make_task_dataset, simulate_base_corpus

REPO = Path(__file__).resolve().parents[1]
TRAIN = {"feature_size": 12, "roi_size": [64, 32, 32], "pixdim": [6.25, 6.25, 6.25], "sw_batch_size": 1,
         "sw_overlap": 0.0, "num_workers": 0, "cache_rate": 0.0, "batch_size": 1, "num_samples": 1,
         "pretrained_source": "scratch", "rand_prob": 0.5}  # fmt: skip
TASK = "amos_abdomen_seg"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    corpus = simulate_base_corpus(tmp_path_factory.mktemp("corpus"), subjects=3, shape=40, spacing=5.0)
    data = tmp_path_factory.mktemp("data")
    make_task_dataset(get_task(TASK), corpus, data)
    return data


def _workflow(bundle: Path, data: Path, **override) -> ConfigWorkflow:
    workflow = ConfigWorkflow(
        config_file=str(bundle / "configs" / "train.yaml"),
        meta_file=str(bundle / "configs" / "metadata.json"),
        logging_file=str(bundle / "configs" / "logging.conf"),
        workflow_type="train",
        bundle_root=str(bundle),
        dataset_dir=str(data),
        **{**TRAIN, **override},
    )
    workflow.initialize()
    return workflow


def _copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(REPO / "bundles" / get_task(TASK).bundle_name, tmp_path / name))


def _load(path: str | Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _assert_same(a, b, where: str = "") -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        assert a == b, where


@pytest.fixture
def one_thread():
    # Multi-threaded CPU kernels may sum in a different order from run to run (last-bit differences, which
    # AdamW's normalised steps can amplify); one thread makes the replay comparable bit for bit.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_killed_run_resumes_at_the_next_epoch_and_replays_the_uninterrupted_run(dataset, tmp_path, one_thread):
    # Uninterrupted: two epochs.
    whole = _copy(tmp_path, "whole")
    workflow = _workflow(whole, dataset, max_epochs=2)
    workflow.run()
    workflow.finalize()
    final_whole = latest_checkpoint(whole / "models")
    assert Path(final_whole).name == f"checkpoint_iter{2 * workflow.trainer.state.epoch_length:09d}.pt"

    # Interrupted: the same run stopped after epoch 1 (as a kill between epochs would leave it) ...
    parts = _copy(tmp_path, "parts")
    workflow = _workflow(parts, dataset, max_epochs=2)
    workflow.trainer.add_event_handler(Events.EPOCH_COMPLETED(once=1), lambda engine: engine.terminate())
    workflow.run()
    workflow.finalize()
    saved = sorted(p.name for p in (parts / "models").glob("checkpoint_iter*.pt"))
    assert len(saved) == 1 and not list((parts / "models").glob(".*tmp*"))  # rolling, nothing half-written
    first = _load(parts / "models" / saved[0])
    assert set(first) == {"model", "optimizer", "lr_scheduler", "validation", "trainer"}
    assert first["trainer"]["iteration"] == first["trainer"]["epoch_length"]  # one epoch done
    assert first["lr_scheduler"]["last_epoch"] == 1 and first["validation"]["best_metric_epoch"] == 1
    assert (parts / "models" / "model.pt").is_file()

    # ... then a fresh process-like run picks it up: it starts at epoch 2 with the saved weights and optimizer.
    workflow = _workflow(parts, dataset, max_epochs=2)
    seen: dict = {"epochs": []}

    def at_start(engine):
        seen["epoch"] = engine.state.epoch
        network = workflow.parser.get_parsed_content("pretrained_network")
        seen["model"] = copy.deepcopy(network.state_dict())
        seen["optimizer"] = copy.deepcopy(workflow.parser.get_parsed_content("optimizer").state_dict())

    workflow.trainer.add_event_handler(Events.STARTED, at_start)  # after the loader, which also runs at STARTED
    workflow.trainer.add_event_handler(Events.EPOCH_STARTED, lambda engine: seen["epochs"].append(engine.state.epoch))
    workflow.run()
    workflow.finalize()
    assert seen["epoch"] == 1 and seen["epochs"] == [2]
    _assert_same(seen["model"], first["model"], "resumed weights")
    _assert_same(seen["optimizer"]["state"], first["optimizer"]["state"], "resumed optimizer")

    # Same seed, same data: the resumed run ends exactly where the uninterrupted one did.
    final_parts = latest_checkpoint(parts / "models")
    assert Path(final_parts).name == Path(final_whole).name
    _assert_same(_load(final_parts), _load(final_whole), "checkpoint")
    _assert_same(_load(parts / "models" / "model.pt"), _load(whole / "models" / "model.pt"), "model.pt")


def test_a_finished_run_continues_with_more_epochs_and_resume_false_starts_over(dataset, tmp_path):
    bundle = _copy(tmp_path, "bundle")
    workflow = _workflow(bundle, dataset, max_epochs=1)
    workflow.run()
    workflow.finalize()
    workflow = _workflow(bundle, dataset, max_epochs=2)
    epochs = []
    workflow.trainer.add_event_handler(Events.EPOCH_STARTED, lambda engine: epochs.append(engine.state.epoch))
    workflow.run()
    workflow.finalize()
    assert epochs == [2] and workflow.trainer.state.epoch == 2
    (old,) = (bundle / "models").glob("checkpoint_iter*.pt")
    assert _load(old)["trainer"]["iteration"] == 2 * workflow.trainer.state.epoch_length

    # Starting over: epoch 1 again, and the earlier run's (higher-iteration) checkpoint does not survive it.
    workflow = _workflow(bundle, dataset, max_epochs=1, resume=False)
    epochs.clear()
    workflow.trainer.add_event_handler(Events.EPOCH_STARTED, lambda engine: epochs.append(engine.state.epoch))
    workflow.run()
    workflow.finalize()
    assert epochs == [1]
    (new,) = (bundle / "models").glob("checkpoint_iter*.pt")
    assert _load(new)["trainer"]["iteration"] == workflow.trainer.state.epoch_length and not old.exists()

