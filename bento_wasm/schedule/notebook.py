"""What a notebook offers a schedule: the defaults in its ``parameters`` cell.

The ``parameters`` cell is papermill's convention: the code cell tagged ``parameters``, whose
top-level assignments are the defaults a run may override. Only literal values are read
(``ast.literal_eval``); nothing in the notebook is executed.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["parameters_of", "read_notebook"]


def read_notebook(path: str | Path) -> dict[str, Any]:
    """The notebook's JSON, or a ConfigError saying which file is not a notebook."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"no notebook at {path}; give the path of an .ipynb file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not a readable notebook (.ipynb JSON): {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ConfigError(f"{path} is not a notebook: it has no list of cells")
    return data


def parameters_of(notebook: dict[str, Any]) -> dict[str, Any]:
    """``{name: default}`` from the cell tagged ``parameters`` (empty if there is none);
    an assignment whose value is not a literal is skipped (a schedule cannot prefill it)."""
    for cell in notebook.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code" or "parameters" not in tags:
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            raise ConfigError(f"the parameters cell does not parse: {exc}; fix it first") from exc
        found: dict[str, Any] = {}
        for node in tree.body:
            target, value = _assignment(node)
            if target is None or value is None:
                continue
            try:
                found[target] = ast.literal_eval(value)
            except ValueError:
                continue
        return found
    return {}


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None
