"""Render task bundles from the task registry (``prism.tasks``) and the family templates in ``tools/templates``.

One module per family (``segmentation``, ...), each exposing ``FAMILIES`` (registry family names it renders) and
``render(task, version, changelog) -> {relative path: text}``; :func:`bundlegen.packaging.finish` then adds what
every bundle derives from its configs (required packages, tested versions, ``large_files.yml``).
"""

from __future__ import annotations

from collections.abc import Callable

from bundlegen import segmentation
from bundlegen.packaging import finish

from prism.tasks import Task

__all__ = ["RENDERERS", "renderer", "supported"]

RENDERERS: dict[str, Callable[[Task, str, dict[str, str]], dict[str, str]]] = {
    family: module.render for module in (segmentation,) for family in module.FAMILIES
}


def supported(task: Task) -> bool:
    """Whether the generator has a template family for ``task``."""
    return task.family in RENDERERS


def renderer(task: Task) -> Callable[[str, dict[str, str]], dict[str, str]]:
    """``render(version, changelog)`` for ``task``'s bundle."""
    if task.family not in RENDERERS:
        raise ValueError(
            f"{task.name}: no bundle template for family {task.family!r} (families with templates: "
            f"{sorted(RENDERERS)})."
        )
    render = RENDERERS[task.family]
    return lambda version, changelog: finish(render(task, version, changelog))
