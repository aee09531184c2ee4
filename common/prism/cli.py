"""The ``prism`` command line: one sub-command per stage, each a thin front to a typed function.

Only the module of the sub-command being run is imported, so ``prism simulate`` does not pay for
importing the statistics stack and vice versa.
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable

import fire

__all__ = ["COMMANDS", "main"]

# sub-command -> "module:function". Each function has type hints and a docstring; fire turns its
# keyword arguments into --flags.
COMMANDS: dict[str, str] = {
    "summary": "prism.networks.summary:summary",
    "simulate": "prism.data.simulator:simulate_command",
    "corpus": "prism.data.corpus:corpus_command",
    "compare": "prism.evaluation.compare:compare_command",
    "tasks": "prism.tasks.registry:tasks_command",
    "demo": "prism.demo:demo",
    "export-encoder": "prism.engines.export:export_encoder_command",
    "convert": "prism.data.convert:convert_command",
    "check-dataset": "prism.data.check:check_dataset_command",
    "release": "prism.release.build:release_command",
    "download": "prism.release.download:download_command",
}


def _load(spec: str) -> Callable:
    module_name, function_name = spec.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``prism`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        fire.Fire({argv[0]: _load(COMMANDS[argv[0]])}, command=argv, name="prism")
    else:
        fire.Fire({name: _load(spec) for name, spec in COMMANDS.items()}, command=argv, name="prism")


if __name__ == "__main__":
    main()
