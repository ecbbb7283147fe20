"""Parameters as papermill has them: typing, YAML, the parameters cell, the injected cell."""

import json

import pytest
from papermill.cli import _resolve_type
from papermill.parameterize import parameterize_notebook

from bento_wasm.errors import RunFailed, RunRefused
from bento_wasm.runs.params import (
    COMPUTED,
    REQUIRED,
    check_required,
    declared_parameters,
    inject,
    merge_parameters,
    read_notebook,
    resolve_type,
    unknown_parameters,
)
from tests.helpers import notebook


@pytest.mark.parametrize(
    "text", ["1", "-3", "1.5", "1e3", "nan", "True", "False", "None", "true", "abc", "0x10", " 7"]
)
def test_values_are_typed_exactly_as_papermill_types_them(text):
    ours, theirs = resolve_type(text), _resolve_type(text)
    assert type(ours) is type(theirs)
    assert ours == theirs or (ours != ours and theirs != theirs)  # nan


def test_parameters_merge_in_papermills_order_files_yaml_then_p_then_r(tmp_path):
    file = tmp_path / "p.yaml"
    file.write_text("a: 1\nb: from-file\nday: 2024-01-02\nnested: {k: [1, 2]}\n")
    merged = merge_parameters(
        files=[str(file)],
        yamls=["b: from-yaml\nc: 3"],
        typed=[("c", "4.5"), ("d", "x")],
        raw=[("d", "7")],
    )
    assert merged == {
        "a": 1,
        "b": "from-yaml",
        "day": "2024-01-02",
        "nested": {"k": [1, 2]},
        "c": 4.5,
        "d": "7",
    }


def test_bad_yaml_and_missing_files_are_refused_with_the_source_named(tmp_path):
    with pytest.raises(RunRefused, match="-y are not valid YAML"):
        merge_parameters(yamls=["a: [1"])
    with pytest.raises(RunRefused, match="must be a YAML mapping"):
        merge_parameters(yamls=["- 1"])
    with pytest.raises(RunRefused, match="cannot read the parameters file"):
        merge_parameters(files=[str(tmp_path / "absent.yaml")])


def test_the_parameters_cell_declares_literals_required_and_computed_values():
    nb = notebook("x = 1", ("a = 1\nb: str\nc: int = 2\nd = len('x')\ne, f = 1, 2", ["parameters"]))
    declared = declared_parameters(nb)
    assert declared.cell_index == 1
    assert declared.defaults == {"a": 1, "b": REQUIRED, "c": 2, "d": COMPUTED}
    assert unknown_parameters(declared, {"b": "x", "zz": 1}) == ["Passed unknown parameter: zz"]
    check_required(declared, {"b": "x"})
    with pytest.raises(RunRefused, match=r"missing parameter b .*cell 2.*-p b VALUE"):
        check_required(declared, {})


@pytest.mark.parametrize(
    "cells",
    [
        ["a = 0", ("x = 1", ["parameters"]), "y = 2"],
        [("x = 1", ["parameters"]), ("x = 5", ["injected-parameters"]), "y = 2"],
        ["a = 0", "y = 2"],
    ],
    ids=["after-parameters", "replaces-injected", "top-without-parameters"],
)
def test_the_injected_cell_goes_where_papermill_puts_it(cells):
    import nbformat

    nb = notebook(*cells)
    ours = inject(nb, {"x": 3, "s": "it's"})
    copy = json.loads(json.dumps(nb))
    copy["metadata"]["papermill"] = {}  # papermill.execute adds it before parameterizing
    for cell in copy["cells"]:
        cell["metadata"].setdefault("tags", [])  # papermill reads metadata.tags unguarded
    theirs = parameterize_notebook(nbformat.from_dict(copy), {"x": 3, "s": "it's"})
    assert [c["source"] for c in ours["cells"]] == [c.source for c in theirs.cells]
    assert [c["metadata"].get("tags") or [] for c in ours["cells"]] == [
        c.metadata.get("tags") for c in theirs.cells
    ]
    assert nb["cells"] == notebook(*cells)["cells"]  # the input is left alone


def test_report_mode_hides_the_injected_cell():
    nb = inject(notebook(("x = 1", ["parameters"])), {"x": 2}, report_mode=True)
    assert nb["cells"][1]["metadata"]["jupyter"] == {"source_hidden": True}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not a notebook"),
        ('{"cells": [], "nbformat": 3}', "not an nbformat 4 notebook"),
        ('{"cells": [{"source": "x"}], "nbformat": 4}', "cell 1 is malformed"),
    ],
)
def test_a_malformed_notebook_is_refused_before_anything_runs(tmp_path, content, match):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(RunRefused, match=match) as caught:
        read_notebook(path)
    assert isinstance(caught.value, RunFailed)
