"""What a bundle's configs need from ``prism``: the modules its ``_target_``s name and everything they import (the
code a released zip carries), and the PyPI packages that code and the configs' MONAI components need.

The closure starts at each ``_target_: prism...`` of every config (located as MONAI locates it, so lazily
exported names resolve to the module that defines them), adds the packages Python executes on the way (each
parent's ``__init__``), and follows every ``import`` statement in those files, function-level ones included, so
that an import a run may reach is carried. Expressions that name ``prism`` (``$import prism``, ``$prism.x(...)``)
are refused: MONAI evaluates ``$import`` lines before ``monai.bundle run`` puts the bundle folder on ``sys.path``,
so they would import another ``prism``, or none.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata
import inspect
import json
import pydoc
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CONFIG_SUFFIXES",
    "SHARED_PACKAGE",
    "BundleClosure",
    "ConfigError",
    "bundle_closure",
    "canonical_name",
    "config_targets",
    "read_configs",
]

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
SHARED_PACKAGE = "prism-bundles"  # the distribution of `prism`; not on PyPI: a released bundle carries its code
_NOT_CONFIGS = ("metadata.json",)
_PRISM_EXPRESSION = re.compile(r"(^|[^\w.])prism(\.|\s|$)")
_DATA_SUFFIXES = (".json", ".yaml", ".yml")
# numpy, torch and monai have their own metadata fields (numpy_version, pytorch_version, monai_version).
_OWN_FIELDS = ("monai", "numpy", "torch")
# PyPI packages MONAI needs for a component beyond its own requirements (MONAI imports them optionally, so
# installing monai does not bring them), by the module that defines the component; prefixes match.
MONAI_COMPONENT_PACKAGES: dict[str, tuple[str, ...]] = {
    "monai.networks.nets.swin_unetr": ("einops",),
    "monai.engines": ("pytorch-ignite",),
    "monai.handlers": ("pytorch-ignite",),
    "monai.handlers.tensorboard_handlers": ("tensorboard",),
    "monai.handlers.mlflow_handler": ("mlflow",),
    # LoadImage(d) reads NIfTI with nibabel and DICOM series with itk.
    "monai.transforms.io": ("nibabel", "itk"),
    "monai.data.image_reader": ("nibabel", "itk"),
}
# `python -m monai.bundle ...` parses its arguments with fire; YAML configs need PyYAML.
MONAI_CLI_PACKAGES = ("fire",)
YAML_PACKAGES = ("pyyaml",)
_MONAI_NAMESPACES = (
    "monai.networks.nets",
    "monai.transforms",
    "monai.engines",
    "monai.handlers",
    "monai.inferers",
    "monai.losses",
    "monai.metrics",
    "monai.data",
    "monai.optimizers",
    "monai.networks",
)


class ConfigError(ValueError):
    """A bundle config that a released zip could not run as written."""


def canonical_name(distribution: str) -> str:
    """PEP 503 name of a distribution: ``PyYAML`` -> ``pyyaml``, ``pytorch_ignite`` -> ``pytorch-ignite``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass
class BundleClosure:
    """The ``prism`` code one bundle needs, and the PyPI packages it and the configs' MONAI components need.

    Attributes:
        targets: every ``_target_`` naming prism code, as written in the configs.
        modules: the carried modules (dotted names), sorted.
        files: the carried files, relative to the folder holding ``prism/`` (``prism/bundle/loading.py``), sorted:
            the modules' sources and the data files of the carried packages (``prism/bundle/schema/*.json``).
        distributions: canonical PyPI names of the packages needed beyond monai, torch and numpy, sorted.
    """

    targets: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    distributions: list[str] = field(default_factory=list)


def read_configs(bundle: str | Path) -> dict[str, Any]:
    """A bundle folder's configs (``configs/**/*.json|yaml``, metadata.json left out): relative path -> content."""
    configs_dir = Path(bundle) / "configs"
    found = {}
    for path in sorted(configs_dir.rglob("*")):
        if path.is_file() and path.suffix in CONFIG_SUFFIXES and path.name not in _NOT_CONFIGS:
            found[path.relative_to(bundle).as_posix()] = _parse(path.read_text(), path.as_posix())
    return found


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text) if where.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{where}: cannot be parsed ({err}).") from err


def _walk(node: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    """(config id, value, key) of every mapping entry and list item, depth first."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield where, value, str(key)
            yield from _walk(value, f"{where}#{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield where, value, str(index)
            yield from _walk(value, f"{where}#{index}" if where else str(index))


def config_targets(configs: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(prism targets, other targets)`` named in ``configs`` (relative path -> content), each sorted.

    Raises:
        ConfigError: an expression names ``prism`` (the message names the file and the config id).
    """
    prism_targets, others = set(), set()
    for path, content in configs.items():
        for parent, value, key in _walk(content, ""):
            if not isinstance(value, str):
                continue
            where = f"{path}: {parent + '#' if parent else ''}{key}"
            if value.startswith("$") and _PRISM_EXPRESSION.search(value[1:]):
                raise ConfigError(
                    f"{where} = {value!r}: a config may name prism code only as a `_target_` (MONAI evaluates "
                    "`$` expressions and imports before `monai.bundle run` puts the bundle folder on sys.path, so a "
                    "released bundle would import another prism, or none)."
                )
            if key == "_target_":
                (prism_targets if value.split(".")[0] == "prism" else others).add(value)
    return sorted(prism_targets), sorted(others)


def _defining_module(dotted: str) -> str:
    """The module whose import makes ``dotted`` available, as MONAI locates it (a module names itself).

    A name a module binds itself needs only that module (its own imports are followed); a name a package serves
    lazily (PEP 562 ``__getattr__``) needs the module the package takes it from: a class's or function's
    ``__module__``, or the package's ``_EXPORTS`` table (``prism.networks``) for other values.
    """
    obj = pydoc.locate(dotted)
    if obj is None:
        raise ConfigError(f"_target_ {dotted!r} cannot be located.")
    if inspect.ismodule(obj):
        return obj.__name__
    parent_name, _, name = dotted.rpartition(".")
    parent = importlib.import_module(parent_name)
    if name in vars(parent):
        return parent_name
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and module in sys.modules:
        return module
    exports = vars(parent).get("_EXPORTS", {})
    if name in exports:
        return exports[name]
    raise ConfigError(f"{dotted!r}: cannot tell which module of {parent_name} defines it.")


def _monai_module(target: str) -> str | None:
    """Defining module of a non-prism ``_target_`` (short MONAI names as MONAI's locator finds them)."""
    if "." in target:
        try:
            return _defining_module(target)
        except ConfigError:
            return None
    for namespace in _MONAI_NAMESPACES:
        obj = getattr(importlib.import_module(namespace), target, None)
        if obj is not None:
            return getattr(obj, "__module__", namespace)
    return None


@functools.lru_cache(maxsize=None)
def _imports_of(path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(module, names)`` of every import statement in a file (``names`` empty for ``import x``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, tuple(alias.name for alias in node.names)))
    return tuple(found)


def _source_file(module: str, root: Path) -> Path:
    """File of a ``prism`` module under ``root`` (the folder holding ``prism/``)."""
    base = root.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    raise ConfigError(f"{module}: no such module under {root}.")


def _is_module(module: str, root: Path) -> bool:
    base = root.joinpath(*module.split("."))
    return (base / "__init__.py").is_file() or base.with_suffix(".py").is_file()


@functools.lru_cache(maxsize=1)
def _distributions_of_imports() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distribution(top: str) -> str:
    """Canonical PyPI name of the installed distribution providing import name ``top``."""
    candidates = [canonical_name(d) for d in _distributions_of_imports().get(top, [])]
    if not candidates:
        raise ConfigError(f"import {top!r}: no installed distribution provides it (add its package to pyproject.toml).")
    if len(set(candidates)) > 1 and canonical_name(top) in candidates:
        return canonical_name(top)
    if len(set(candidates)) > 1:
        raise ConfigError(f"import {top!r} is provided by several distributions: {sorted(set(candidates))}.")
    return candidates[0]


def _monai_packages(module: str) -> set[str]:
    return {
        package
        for prefix, packages in MONAI_COMPONENT_PACKAGES.items()
        if module == prefix or module.startswith(prefix + ".")
        for package in packages
    }


def _package_data(package_dir: Path) -> list[Path]:
    """Data files of a package: in its folder and in sub-folders that are not packages themselves."""
    found = [p for p in package_dir.iterdir() if p.is_file() and p.suffix in _DATA_SUFFIXES]
    for sub in package_dir.iterdir():
        if sub.is_dir() and not (sub / "__init__.py").exists() and sub.name != "__pycache__":
            found += [p for p in sub.rglob("*") if p.is_file() and p.suffix in _DATA_SUFFIXES]
    return found


def bundle_closure(configs: Mapping[str, Any], root: str | Path | None = None) -> BundleClosure:
    """The carried ``prism`` code and the PyPI packages of a bundle whose configs are ``configs``.

    Args:
        configs: relative path -> parsed content, as :func:`read_configs` returns.
        root: the folder holding the ``prism`` package to carry; default: the imported one's parent. Targets are
            located in the imported package, so the two must be the same tree.

    Raises:
        ConfigError: an expression names prism, a target cannot be located, or an import has no distribution.
    """
    import prism

    root = Path(root) if root is not None else Path(prism.__file__).resolve().parents[1]
    prism_targets, other_targets = config_targets(configs)
    pending = [_defining_module(t) for t in prism_targets]
    modules: set[str] = set()
    third_party: set[str] = set()
    monai_modules: set[str] = {m for m in map(_monai_module, other_targets) if m}
    while pending:
        module = pending.pop()
        if module in modules:
            continue
        modules.add(module)
        parts = module.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]
        for imported, names in _imports_of(_source_file(module, root)):
            top = imported.split(".")[0]
            if top == "prism":
                pending.append(imported)
                for name in names:
                    dotted = f"{imported}.{name}"
                    pending.append(dotted if _is_module(dotted, root) else _defining_module(dotted))
            elif top == "monai":
                monai_modules.add(imported)
                for name in names:
                    found = _monai_module(f"{imported}.{name}")
                    if found:
                        monai_modules.add(found)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third_party.add(top)
    distributions = {_distribution(top) for top in third_party}
    for module in monai_modules:
        distributions |= _monai_packages(module)
    distributions |= set(MONAI_CLI_PACKAGES)
    if any(path.endswith((".yaml", ".yml")) for path in configs):
        distributions |= set(YAML_PACKAGES)
    files = {_source_file(m, root) for m in modules}
    for module in modules:
        source = _source_file(module, root)
        if source.name == "__init__.py":
            files |= set(_package_data(source.parent))
    return BundleClosure(
        targets=prism_targets,
        modules=sorted(modules),
        files=sorted(p.relative_to(root).as_posix() for p in files),
        distributions=sorted(distributions - set(_OWN_FIELDS)),
    )
