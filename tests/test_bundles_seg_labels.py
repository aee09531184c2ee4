"""What a segmentation bundle's inference writes agrees with what its metadata.json declares.

``output_values: dataset`` (default) writes the label files' values, declared by
``post_processed_outputs.pred.channel_def``; ``output_values: channels`` writes the network's output channels,
declared by ``outputs.pred.channel_def``, which is what MONAI Label reads as its label names and values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser
from monai.transforms import MapLabelValued

from prism.tasks import get_task, list_tasks

REPO = Path(__file__).resolve().parents[1]
NAMES = [t.name for t in list_tasks(segmentation=True)]


def _written_values(bundle: Path, output_values: str, num_channels: int) -> list[int]:
    """The value written for each output channel 0..num_channels-1 by the bundle's postprocessing."""
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    parser["output_values"] = output_values
    transforms = parser.get_parsed_content("postprocessing").transforms
    pred = torch.arange(num_channels).reshape(1, num_channels, 1, 1)
    for t in transforms:
        if isinstance(t, MapLabelValued):
            pred = t({"pred": pred})["pred"]
    return [int(v) for v in torch.as_tensor(pred).flatten()]


@pytest.mark.parametrize("name", NAMES)
def test_written_values_match_metadata(name):
    task = get_task(name)
    bundle = REPO / "bundles" / task.bundle_name
    fmt = json.loads((bundle / "configs" / "metadata.json").read_text())["network_data_format"]
    channels = fmt["outputs"]["pred"]["channel_def"]
    written = fmt["post_processed_outputs"]["pred"]["channel_def"]
    n = fmt["outputs"]["pred"]["num_channels"]
    assert sorted(int(k) for k in channels) == list(range(n))

    # channels: exactly the channel indices MONAI Label maps to names.
    assert _written_values(bundle, "channels", n) == list(range(n))
    # dataset: every written value is declared, and (for a task's own classes) under the channel's name.
    values = _written_values(bundle, "dataset", n)
    assert {str(v) for v in values} <= set(written)
    if not task.is_external:
        assert [written[str(v)] for v in values] == [channels[str(i)] for i in range(n)]
    if values != list(range(n)):  # a mapping exists: a misspelt setting stops instead of writing either
        with pytest.raises(RuntimeError) as error:
            _written_values(bundle, "labels", n)
        assert isinstance(error.value.__cause__, KeyError) and "'labels'" in str(error.value.__cause__)
