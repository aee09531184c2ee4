"""The package's layers point down only, and what a task bundle imports at run time stays a small runtime."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "common" / "prism"
REPO = PACKAGE.parents[1]
# Bottom to top; a module may import from its own layer and the ones below it, never from above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("prism", "prism.vocabulary", "prism.runtime"),  # vocabulary; which prism code runs (released bundles)
    ("prism.tasks",),  # the task registry (a description, imports nothing of prism but the vocabulary)
    ("prism.networks",),
    ("prism.bundle",),  # the task bundles' runtime: input checks and loading, handlers, encoder loading
    ("prism.transforms",),  # pretraining transforms
    ("prism.losses",),
    ("prism.engines",),  # pretraining engines
    ("prism.data", "prism.evaluation", "prism.release"),  # tools: simulator, corpus, statistics, release
    ("prism.cli", "prism.demo"),
)
# Research tools and heavy libraries a segmentation bundle must not load at run time.
NOT_IN_RUNTIME = ("prism.data", "prism.evaluation", "prism.engines", "prism.cli", "prism.demo", "prism.tasks",
                  "prism.losses", "prism.release", "sklearn", "matplotlib", "nilearn", "pydicom", "mlflow",
                  "nltk")  # fmt: skip


def _layer(module: str) -> int:
    best = None
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best[1])):
                best = (index, name)
    if best is None:
        raise AssertionError(f"{module} belongs to no layer of tests/test_package_layers.py: add it there.")
    return best[0]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _prism_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``prism`` import in a file, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if n.split(".")[0] == "prism"]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "prism"]
    return found


def _is_module(name: str) -> bool:
    parts = name.split(".")
    return (PACKAGE.parent.joinpath(*parts).with_suffix(".py")).is_file() or PACKAGE.parent.joinpath(*parts).is_dir()


def test_layers_point_down_only():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        for line, imported in _prism_imports(path):
            if not _is_module(imported):  # `from prism.x import name`: the module is prism.x, already listed
                continue
            if _layer(imported) > _layer(importer):
                upward.append(f"{path.relative_to(REPO)}:{line} ({importer}) imports {imported}")
    assert upward == [], "imports pointing up a layer:\n" + "\n".join(upward)


_SCRIPT = """
import json, sys, time
from monai.bundle import ConfigParser
start = time.perf_counter()
for config, keys in {jobs!r}:
    parser = ConfigParser()
    parser.read_config(config)
    for key, value in {overrides!r}.items():
        if key in parser:
            parser[key] = value
    for key in keys:
        parser.get_parsed_content(key)
print(json.dumps({{"modules": sorted(sys.modules), "seconds": time.perf_counter() - start}}))
"""


def _modules_loaded(jobs: list, overrides: dict, cwd: Path) -> dict:
    code = _SCRIPT.format(jobs=jobs, overrides=overrides)
    # This checkout's prism, whatever PYTHONPATH says (a relative one would not resolve from cwd).
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, check=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runtime_modules(tmp_path_factory) -> dict:
    """Modules a multi-sequence segmentation bundle loads to build its network and transforms (training and
    inference), beyond what MONAI itself loads for a plain SwinUNETR config, each in a fresh process."""
    bundle = REPO / "bundles" / "prism_brats2021_tumour_seg"
    jobs = [
        (str(bundle / "configs" / "train.yaml"), ("network", "train#preprocessing", "validate#preprocessing")),
        (str(bundle / "configs" / "inference.json"), ("network", "preprocessing", "postprocessing", "inferer")),
    ]
    plain = tmp_path_factory.mktemp("plain") / "plain.json"
    plain.write_text(json.dumps({
        "network": {"_target_": "SwinUNETR", "in_channels": 4, "out_channels": 4, "feature_size": 12},
        "preprocessing": {"_target_": "Compose", "transforms": [
            {"_target_": "LoadImaged", "keys": "image"}, {"_target_": "Orientationd", "keys": "image", "axcodes": "RAS"},
            {"_target_": "Spacingd", "keys": "image", "pixdim": [1, 1, 1]}]},
        "inferer": {"_target_": "SlidingWindowInferer", "roi_size": [96, 96, 96]},
    }))  # fmt: skip
    ours = _modules_loaded(jobs, {"pretrained_source": "scratch", "feature_size": 12}, bundle)
    monai_only = _modules_loaded([(str(plain), ("network", "preprocessing", "inferer"))], {}, bundle)
    return {"extra": sorted(set(ours["modules"]) - set(monai_only["modules"])), "all": ours["modules"],
            "seconds": ours["seconds"], "monai_seconds": monai_only["seconds"]}  # fmt: skip


def test_a_segmentation_bundle_loads_only_the_runtime(runtime_modules):
    loaded = sorted({m for m in runtime_modules["all"] for bad in NOT_IN_RUNTIME if m == bad or m.startswith(bad + ".")})
    extra = runtime_modules["extra"]
    ours = [m for m in extra if m.split(".")[0] == "prism"]
    others = sorted({m.split(".")[0] for m in extra} - {"prism"})
    print(f"bundle config build: {runtime_modules['seconds']:.2f} s, plain MONAI config: "
          f"{runtime_modules['monai_seconds']:.2f} s; prism modules: {ours}; other packages beyond MONAI's: {others}")
    heavy = sorted({m for m in loaded if m.split(".")[0] != "prism"} & set(extra))
    assert [m for m in loaded if m.split(".")[0] == "prism"] == [], "research tools in a bundle's run time"
    assert heavy == [], f"heavy libraries loaded by the bundle beyond what MONAI loads itself: {heavy}"
    assert "prism.bundle" in ours and len(ours) < 25, ours


def test_the_release_closure_carries_every_prism_module_a_bundle_loads(runtime_modules):
    from prism.release.closure import bundle_closure, read_configs

    closure = bundle_closure(read_configs(REPO / "bundles" / "prism_brats2021_tumour_seg"))
    loaded = {m for m in runtime_modules["all"] if m.split(".")[0] == "prism"}
    assert loaded <= set(closure.modules), sorted(loaded - set(closure.modules))
