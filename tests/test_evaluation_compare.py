"""Result files (incl. MONAI MetricsSaver output), comparison tables and the ``prism compare`` command."""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.handlers import MetricsSaver
from monai.handlers.utils import write_metrics_reports
from scipy.stats import wilcoxon
from sklearn.metrics import roc_auc_score

from prism.cli import main
from prism.evaluation.compare import ManifestRow, compare, parse_pairs, read_manifest
from prism.evaluation.results import default_metrics, metric_values, read_results
from prism.evaluation.significance import delong_test, stars
from prism.evaluation.table import Entry, compare_entries, to_markdown


def _write(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _classification_files(folder, n=60, skills=(("base", 0.5), ("mid", 1.0), ("best", 2.0)), seed=0):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 2, n)
    files = {}
    for model, skill in skills:
        prob = 1 / (1 + np.exp(-(skill * (2 * target - 1) + rng.normal(0, 1, n))))
        rows = [[f"c{i:02d}", target[i], int(prob[i] >= 0.5), 1 - prob[i], prob[i]] for i in range(n)]
        rows = rows[::-1] if model == "mid" else rows  # another case order must not matter
        files[model] = _write(folder / f"{model}.csv", ["case_id", "target", "pred", "prob_0", "prob_1"], rows)
    return files


def test_reads_metrics_saver_output_directly(tmp_path):
    dice = np.array([[0.9, np.nan], [0.8, 0.7]], dtype=np.float32)
    write_metrics_reports(tmp_path / "a", ["img0.nii.gz", "img1.nii.gz"], None, {"mean_dice": dice}, None)
    write_metrics_reports(tmp_path / "b", None, None, {"mean_dice": dice[1:]}, None, deli="\t")
    results = read_results(tmp_path / "a")  # the folder: its one *_raw.csv
    assert results.metrics_saver and results.case_ids == ("img0.nii.gz", "img1.nii.gz")
    assert default_metrics(results) == ["dice"]
    np.testing.assert_allclose(metric_values(results, "class0").values, [0.9, 0.8], atol=1e-6)
    # MONAI's `mean` is a nan-mean: a class scored NaN (ignore_empty=True) would silently drop out of it
    for metric in ("dice", "class1"):
        with pytest.raises(ValueError, match="class1.*NaN.*img0.nii.gz.*ignore_empty=False"):
            metric_values(results, metric)
    tab = read_results(tmp_path / "b" / "mean_dice_raw.csv")
    assert tab.case_ids == ("0",) and metric_values(tab, "dice").values[0] == pytest.approx(0.75)


def test_metrics_saver_handler_file(tmp_path):
    """The file the MetricsSaver handler writes at the end of an evaluation epoch, Dice from DiceMetric."""
    from ignite.engine import Engine, Events
    from monai.metrics import DiceMetric

    pred = torch.zeros(2, 2, 4, 4, 4)
    label = torch.zeros(2, 2, 4, 4, 4)
    pred[:, 0], label[:, 0] = 1, 1  # background everywhere ...
    pred[0, 1, :2], pred[0, 0, :2] = 1, 0  # ... except a predicted half in case 0
    label[0, 1, :1], label[0, 0, :1] = 1, 0  # whose reference is a quarter; case 1: both empty
    metric = DiceMetric(include_background=False, ignore_empty=False)
    metric(pred, label)
    batches = [{"meta": [{"filename_or_obj": "/data/case0.nii.gz"}, {"filename_or_obj": "/data/case1.nii.gz"}]}]
    engine = Engine(lambda engine, batch: None)

    @engine.on(Events.EPOCH_COMPLETED)
    def _details(engine):  # what MONAI's MeanDice handler stores with save_details=True
        engine.state.metric_details = {"mean_dice": metric.get_buffer()}

    MetricsSaver(save_dir=str(tmp_path), metrics=None, metric_details="*", batch_transform=lambda b: b["meta"]).attach(
        engine
    )
    engine.run(batches, max_epochs=1)
    results = read_results(tmp_path)
    assert results.case_ids == ("/data/case0.nii.gz", "/data/case1.nii.gz")
    np.testing.assert_allclose(metric_values(results, "dice").values, [2 * 16 / (32 + 16), 1.0], atol=1e-4)


def test_result_file_errors(tmp_path):
    with pytest.raises(ValueError, match="no case-id column"):
        read_results(_write(tmp_path / "a.csv", ["id", "dice"], [["x", 1]]))
    with pytest.raises(ValueError, match="repeated case ids"):
        read_results(_write(tmp_path / "b.csv", ["case_id", "dice"], [["x", 1], ["x", 0.5]]))
    nan_file = read_results(_write(tmp_path / "c.csv", ["case_id", "target", "pred"], [["x", 1, "nan"], ["y", 2, 3]]))
    with pytest.raises(ValueError, match="c.csv: column 'pred' has 1 NaN.*'x'"):
        metric_values(nan_file, "mae")
    with pytest.raises(ValueError, match="not found"):
        read_results(tmp_path / "missing.csv")
    single = read_results(
        _write(tmp_path / "d.csv", ["case_id", "target", "prob_0", "prob_1"], [["x", 1, 0.2, 0.8], ["y", 1, 0.6, 0.4]])
    )
    entries = [Entry("m", "t", metric_values(single, "auc"))]
    with pytest.raises(ValueError, match="single class"):
        compare_entries(entries)


def test_multilabel_and_precomputed_correctness(tmp_path):
    header = ["case_id", "target_0", "target_1", "pred_0", "pred_1"]
    rows = [["a", 1, 0, 1, 0], ["b", 1, 1, 1, 0], ["c", 0, 0, 0, 0]]
    results = read_results(_write(tmp_path / "multi.csv", header, rows))
    np.testing.assert_array_equal(metric_values(results, "accuracy").values, [1.0, 0.0, 1.0])
    correct = read_results(_write(tmp_path / "correct.csv", ["case_id", "correct"], [["a", 1], ["b", 0]]))
    assert default_metrics(correct) == ["accuracy"]
    np.testing.assert_array_equal(metric_values(correct, "accuracy").values, [1.0, 0.0])
    bad = read_results(_write(tmp_path / "bad.csv", ["case_id", "correct"], [["a", 2], ["b", 0]]))
    with pytest.raises(ValueError, match="bad.csv.*binary labels"):
        metric_values(bad, "accuracy")


def test_comparison_values_ranks_and_tests(tmp_path):
    files = _classification_files(tmp_path)
    entries = []
    for model, path in files.items():
        results = read_results(path)
        entries += [Entry(model, "task", metric_values(results, m)) for m in ("accuracy", "auc")]
    cells = compare_entries(entries, baseline="base", n_resamples=300)
    by = {(c.metric, c.model): c for c in cells}
    data = {m: np.loadtxt(p, delimiter=",", skiprows=1, usecols=(1, 2, 4)) for m, p in files.items()}
    for model, table in data.items():
        target, pred, prob = table.T
        assert by[("accuracy", model)].estimate == pytest.approx(100 * np.mean(target == pred))
        assert by[("auc", model)].estimate == pytest.approx(100 * roc_auc_score(target, prob))
    _, _, best_prob = data["best"].T
    base_target, _, base_prob = data["base"].T
    assert by[("auc", "best")].p_value == pytest.approx(delong_test(base_target, best_prob, base_prob).p_value)
    correct_best = (data["best"][:, 0] == data["best"][:, 1]).astype(float)
    correct_base = (data["base"][:, 0] == data["base"][:, 1]).astype(float)
    expected = wilcoxon(correct_best, correct_base, zero_method="wilcox").pvalue
    assert by[("accuracy", "best")].p_value == pytest.approx(expected)
    mid = data["mid"][::-1]  # the file lists cases in reverse: pairing must go by case id
    correct_mid = (mid[:, 0] == mid[:, 1]).astype(float)
    assert by[("accuracy", "mid")].p_value == pytest.approx(
        wilcoxon(correct_mid, correct_base, zero_method="wilcox").pvalue
    )
    assert by[("auc", "mid")].p_value == pytest.approx(delong_test(base_target, mid[:, 2], base_prob).p_value)
    assert by[("auc", "best")].rank == 1 and by[("auc", "base")].rank == 3
    assert by[("auc", "base")].delta is None
    markdown = to_markdown(cells, baseline="base")
    best_row = next(line for line in markdown.splitlines() if line.startswith("| best"))
    assert best_row.count("**") == 4  # bold in both columns
    assert "<u>" in next(line for line in markdown.splitlines() if line.startswith("| mid"))
    delta_row = next(line for line in markdown.splitlines() if line.startswith("| Δ best vs base"))
    assert len(re.findall(r"\+\d+\.\d\d \((\*+|n\.s\.)\)", delta_row)) == 2
    assert f"({stars(by[('auc', 'best')].p_value)})" in delta_row


def test_lower_is_better_and_mismatched_cases(tmp_path):
    rng = np.random.default_rng(1)
    age = rng.uniform(20, 80, 30)
    for model, noise in (("a", 2.0), ("b", 8.0)):
        _write(
            tmp_path / f"{model}.csv",
            ["case_id", "target", "pred"],
            [[f"s{i}", age[i], age[i] + rng.normal(0, noise)] for i in range(30)],
        )
    rows = [ManifestRow(m, "age", str(tmp_path / f"{m}.csv")) for m in ("a", "b")]
    written = compare(rows, tmp_path / "out", baseline="b", n_resamples=200, roc=False)
    markdown = written["markdown"].read_text()
    assert next(line for line in markdown.splitlines() if line.startswith("| a ")).count("**") == 2  # lowest MAE wins
    assert "| Δ a vs b | -" in markdown
    _write(tmp_path / "c.csv", ["case_id", "target", "pred"], [[f"s{i}", age[i], age[i]] for i in range(29)])
    with pytest.raises(ValueError, match="same cases.*missing \\['s29'\\]"):
        compare([*rows, ManifestRow("c", "age", str(tmp_path / "c.csv"))], tmp_path / "out2", n_resamples=50, roc=False)


def test_manifest_and_pairs(tmp_path):
    _write(tmp_path / "m.csv", ["model", "task", "file", "metric"], [["a", "t", "x.csv", "accuracy;auc"]])
    (tmp_path / "m.yaml").write_text("results:\n  - {model: a, task: t, file: x.csv, metric: [dice]}\n")
    assert read_manifest(tmp_path / "m.csv") == [ManifestRow("a", "t", str(tmp_path / "x.csv"), ("accuracy", "auc"))]
    assert read_manifest(tmp_path / "m.yaml")[0].metrics == ("dice",)
    assert parse_pairs(("a=x.csv", "b=y.csv"), "results") == {"a": "x.csv", "b": "y.csv"}
    with pytest.raises(ValueError, match="name=path"):
        parse_pairs("a.csv", "results")


def test_prism_compare_command_writes_table_and_figures(tmp_path, capsys):
    files = _classification_files(tmp_path)
    rng = np.random.default_rng(2)
    features = tmp_path / "features.npz"
    np.savez(features, features=rng.normal(size=(30, 8)), labels=np.arange(30) % 3)
    results = ",".join(f"{m}={p}" for m, p in files.items())
    main(
        [
            "compare",
            "--results",
            results,
            "--task",
            "PI-CAI",
            "--metric",
            "accuracy,auc",
            "--baseline",
            "base",
            "--out_dir",
            str(tmp_path / "out"),
            "--n_resamples",
            "200",
            "--features",
            f"best={features}",
        ]
    )
    printed = capsys.readouterr().out
    assert "PI-CAI ACC (%)" in printed and "PI-CAI AUC (%)" in printed
    for name in ("comparison.md", "comparison.csv", "roc_PI-CAI.png", "tsne.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert (tmp_path / "out" / "roc_PI-CAI.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / "out" / "comparison.csv") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 6 and {row["test"] for row in table} == {"", "DeLong", "Wilcoxon signed-rank"}


EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "results"


def test_example_files_are_reproducible_and_compare(tmp_path):
    """examples/results/ is what make_examples.py writes, and the README's manifest runs on it."""
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path / "fresh")
    for committed in EXAMPLES.rglob("*"):
        if committed.suffix == ".csv" and committed.name != "manifest.csv":
            assert (tmp_path / "fresh" / committed.relative_to(EXAMPLES)).read_text() == committed.read_text()
        elif committed.suffix == ".npz":
            with np.load(committed) as old, np.load(tmp_path / "fresh" / committed.name) as new:
                np.testing.assert_array_equal(old["features"], new["features"])
    written = compare(
        read_manifest(EXAMPLES / "manifest.csv"), tmp_path / "out", "swin_b_scratch", n_resamples=100, roc=False
    )
    lines = written["markdown"].read_text().splitlines()
    assert lines[0].count("|") == 10 and len([line for line in lines if line.startswith("| ")]) == 6
