"""Unit tests of the bundle handlers (validation state, best weights, resume and start-over) and LoadSequencesd."""

from __future__ import annotations

import pytest
import torch
from ignite.engine import Engine, Events
from monai.handlers import EarlyStopHandler

from prism.bundle import BestWeightsSaver, LoadSequencesd, StartOver, ValidationState, resume_path


def _evaluator(scores: list[float]) -> Engine:
    """An engine that, like MONAI's evaluator, records the best score before its handlers run."""
    engine = Engine(lambda e, b: None)
    engine.state.best_metric, engine.state.best_metric_epoch, engine.state.key_metric_name = -1.0, -1, "dice"

    @engine.on(Events.EPOCH_COMPLETED)
    def _compare(e):
        score = scores[e.state.epoch - 1]
        if e.state.best_metric_epoch == -1 or score > e.state.best_metric:
            e.state.best_metric, e.state.best_metric_epoch = score, e.state.epoch

    return engine


def test_best_weights_saver_writes_only_improvements_as_a_plain_state_dict(tmp_path):
    net = torch.nn.Linear(2, 1)
    evaluator = _evaluator([0.5, 0.4, 0.7])  # epoch 2 does not improve
    evaluator.add_event_handler(Events.EPOCH_STARTED, lambda e: torch.nn.init.constant_(net.weight, e.state.epoch))
    BestWeightsSaver(tmp_path, net).attach(evaluator)
    on_disk = []
    evaluator.add_event_handler(
        Events.EPOCH_COMPLETED,
        lambda e: on_disk.append(float(torch.load(tmp_path / "model.pt", weights_only=True)["weight"][0, 0])),
    )
    evaluator.run([0], max_epochs=3)
    assert on_disk == [1.0, 1.0, 3.0]
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind


def test_best_weights_saver_unwraps_data_parallel(tmp_path):
    net = torch.nn.DataParallel(torch.nn.Linear(2, 1))
    evaluator = _evaluator([0.5])
    BestWeightsSaver(tmp_path, net).attach(evaluator)
    evaluator.run([0], max_epochs=1)
    assert set(torch.load(tmp_path / "model.pt", weights_only=True)) == {"weight", "bias"}


def test_best_weights_saver_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="torch.nn.Module"):
        BestWeightsSaver(tmp_path, "net")
    with pytest.raises(ValueError, match="plain file name"):
        BestWeightsSaver(tmp_path, torch.nn.Linear(1, 1), filename="sub/model.pt")


def test_validation_state_round_trip_restores_best_metric_and_early_stop_counter():
    evaluator = _evaluator([0.5, 0.4])
    trainer = Engine(lambda e, b: None)
    early_stop = EarlyStopHandler(patience=3, score_function=lambda e: e.state.best_metric, trainer=trainer)
    early_stop.attach(evaluator)
    evaluator.run([0], max_epochs=2)
    state = ValidationState(evaluator, early_stop).state_dict()
    assert state == {"best_metric": 0.5, "best_metric_epoch": 1, "early_stop_counter": 1, "early_stop_best": 0.5}

    fresh = _evaluator([])
    fresh_stop = EarlyStopHandler(patience=3, score_function=lambda e: 0.0, trainer=trainer)
    ValidationState(fresh, fresh_stop).load_state_dict(state)
    assert (fresh.state.best_metric, fresh.state.best_metric_epoch) == (0.5, 1)
    assert (fresh_stop._handler.counter, fresh_stop._handler.best_score) == (1, 0.5)
    with pytest.raises(ValueError, match="lacks"):
        ValidationState(fresh).load_state_dict({"best_metric": 0.1})


def test_load_sequences_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least two"):
        LoadSequencesd(["t2"])
    with pytest.raises(ValueError, match="channel names"):
        LoadSequencesd(["t2", "adc"], channels=["T2"])
    with pytest.raises(ValueError, match="also a sequence key"):
        LoadSequencesd(["image", "adc"])


def test_resume_path_only_looks_and_start_over_deletes_when_the_run_starts(tmp_path):
    assert resume_path(tmp_path / "missing") is None and resume_path(tmp_path, resume=False) is None
    for iteration in (4, 12):
        torch.save({}, tmp_path / f"checkpoint_iter{iteration:09d}.pt")
    (tmp_path / ".checkpoint_iter000000016.pt.tmp1").write_bytes(b"half")  # an interrupted save does not count
    assert resume_path(tmp_path).endswith("checkpoint_iter000000012.pt")
    torch.save({}, tmp_path / "model.pt")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert resume_path(tmp_path, resume=False) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # resolving a config deletes nothing

    trainer = Engine(lambda e, b: None)
    StartOver(tmp_path, resume=True).attach(trainer)
    trainer.run([0], max_epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # resuming keeps them
    trainer = Engine(lambda e, b: None)
    StartOver(tmp_path, resume=False).attach(trainer)
    trainer.run([0], max_epochs=1)  # starting over discards the earlier run's checkpoints, when it starts
    assert sorted(p.name for p in tmp_path.iterdir()) == [".checkpoint_iter000000016.pt.tmp1", "model.pt"]
