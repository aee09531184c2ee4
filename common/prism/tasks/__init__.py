"""Registry of the PRISM paper's 44 downstream tasks, the single source the bundles are generated from."""

from __future__ import annotations

from prism.tasks.registry import TASKS, get_task, list_tasks, tasks_command
from prism.tasks.spec import COHORTS, FAMILIES, SEGMENTATION_FAMILIES, LabelClass, LabelMapping, LabelRegion, Task

__all__ = [
    "COHORTS",
    "FAMILIES",
    "SEGMENTATION_FAMILIES",
    "TASKS",
    "LabelClass",
    "LabelMapping",
    "LabelRegion",
    "Task",
    "get_task",
    "list_tasks",
    "tasks_command",
]
