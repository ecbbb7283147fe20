"""Parameters as papermill has them: typed from the command line, read from YAML, injected.

Pure (STYLE.md #2): a notebook is its nbformat v4 JSON as a dict. ``-p NAME VALUE`` is
typed as papermill types it (``True``/``False``/``None``, int, float, else str); ``-r``
keeps the raw string; ``-f FILE`` and ``-y YAML`` are YAML. The injected cell is tagged
``injected-parameters`` and goes right after the cell tagged ``parameters`` (replacing an
earlier injected cell), exactly where papermill puts it.
"""

from __future__ import annotations

import ast
import copy
import datetime
import json
import os

from ..errors import RunRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = [
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "Declared",
    "check_required",
    "declared_parameters",
    "inject",
    "merge_parameters",
    "read_notebook",
    "resolve_type",
    "unknown_parameters",
]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
#: A parameter declared with an annotation and no value (``region: str``) must be given.
REQUIRED = object()
#: A parameter whose default is not a literal: its value exists only in the sandbox.
COMPUTED = object()


def resolve_type(value: str) -> Any:
    """What papermill makes of ``-p NAME VALUE`` (papermill.cli._resolve_type)."""
    if value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def merge_parameters(
    *,
    files: Iterable[str] = (),
    yamls: Iterable[str] = (),
    typed: Iterable[tuple[str, str]] = (),
    raw: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The run's parameters, in papermill's order: ``-f`` files, ``-y`` YAML, ``-p``, ``-r``."""
    import yaml  # type: ignore[import-untyped]

    merged: dict[str, Any] = {}
    for source, text in [*((f, _read(f)) for f in files), *(("-y", y) for y in yamls)]:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RunRefused(f"parameters from {source} are not valid YAML: {exc}") from exc
        if loaded is None:
            continue
        if not isinstance(loaded, dict):
            raise RunRefused(
                f"parameters from {source} must be a YAML mapping (name: value), "
                f"not a {type(loaded).__name__}"
            )
        merged.update({str(k): _plain(v) for k, v in loaded.items()})
    merged.update({name: resolve_type(value) for name, value in typed})
    merged.update(dict(raw))
    return merged


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise RunRefused(f"cannot read the parameters file {path}: {exc.strerror}") from exc


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings (papermill loads YAML without date conversion)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


class Declared:
    """The parameters cell: each name's default (a literal, :data:`REQUIRED` or
    :data:`COMPUTED`), in order."""

    def __init__(self, cell_index: int | None, defaults: dict[str, Any]) -> None:
        self.cell_index = cell_index
        self.defaults = defaults

    def values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overridden by the given values (what the sandbox will hold)."""
        return {**self.defaults, **given}


def find_tagged(nb: Mapping[str, Any], tag: str) -> int | None:
    for index, cell in enumerate(nb.get("cells", [])):
        if tag in (cell.get("metadata", {}).get("tags") or []):
            return index
    return None


def source_of(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def declared_parameters(nb: Mapping[str, Any]) -> Declared:
    """The names the ``parameters`` cell assigns, with literal defaults where it has them."""
    index = find_tagged(nb, PARAMETERS_TAG)
    if index is None:
        return Declared(None, {})
    try:
        tree = ast.parse(source_of(nb["cells"][index]))
    except SyntaxError as exc:
        raise RunRefused(
            f"the parameters cell (cell {index + 1}) is not valid Python: {exc.msg} "
            f"(line {exc.lineno}); fix it in the notebook",
            cell_index=index,
        ) from exc
    defaults: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defaults[node.target.id] = REQUIRED if node.value is None else _literal(node.value)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defaults[target.id] = _literal(node.value)
    return Declared(index, defaults)


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return COMPUTED


def unknown_parameters(declared: Declared, given: Mapping[str, Any]) -> list[str]:
    """Warnings for given names the parameters cell does not declare (papermill's wording:
    a warning, and the run goes on)."""
    return [f"Passed unknown parameter: {name}" for name in given if name not in declared.defaults]


def check_required(declared: Declared, given: Mapping[str, Any]) -> None:
    """A parameter declared without a value (``region: str``) must be given."""
    missing = [n for n, v in declared.defaults.items() if v is REQUIRED and n not in given]
    if missing:
        where = f"cell {declared.cell_index + 1}" if declared.cell_index is not None else ""
        raise RunRefused(
            f"missing parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(declared without a value in the parameters cell, {where}); pass "
            + " ".join(f"-p {n} VALUE" for n in missing),
            cell_index=declared.cell_index,
        )


def parameters_source(parameters: Mapping[str, Any]) -> str:
    """The injected cell's code, as papermill's Python translator writes it."""
    lines = ["# Parameters"]
    lines.extend(f"{name} = {value!r}" for name, value in parameters.items())
    return "\n".join(lines) + "\n"


def inject(
    nb: Mapping[str, Any], parameters: Mapping[str, Any], report_mode: bool = False
) -> dict[str, Any]:
    """A copy of ``nb`` with the injected-parameters cell placed as papermill places it."""
    out = copy.deepcopy(dict(nb))
    cells = list(out.get("cells", []))
    metadata: dict[str, Any] = {"tags": [INJECTED_TAG]}
    if report_mode:
        metadata["jupyter"] = {"source_hidden": True}
    new: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "id": "injected-parameters",
        "metadata": metadata,
        "outputs": [],
        "source": parameters_source(parameters),
    }
    injected = find_tagged(out, INJECTED_TAG)
    declared = find_tagged(out, PARAMETERS_TAG)
    if injected is not None:
        cells[injected] = new
    elif declared is not None:
        cells.insert(declared + 1, new)
    else:
        cells.insert(0, new)
    out["cells"] = cells
    return out


def read_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except OSError as exc:
        raise RunRefused(f"cannot read the notebook {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise RunRefused(f"{path} is not a notebook (not JSON: {exc}); check the file") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or nb.get("nbformat") != 4:
        raise RunRefused(
            f"{path} is not an nbformat 4 notebook (no 'cells' list or nbformat != 4); "
            "open and save it in JupyterLab to upgrade it"
        )
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise RunRefused(
                f"{path}: cell {index + 1} is malformed (no valid cell_type)", cell_index=index
            )
    return nb
