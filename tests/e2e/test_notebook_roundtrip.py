"""Notebooks round-trip whole: opened in the page and saved without running, nothing changes but
nbformat's own upgrade (cell ids, nbformat_minor 5).

A set of notebooks made here covers nbformat 4.0 to 4.5, v3 (which the server converts) and the
odd cases: attachments of markdown and raw cells, raw cells, a cell and an output of types nobody
knows, unknown keys, notebook and cell metadata of every shape, consecutive stream outputs. Each
file is compared with what it should become, in nbformat's canonical form (a multiline string is
the same whether a string or a list of lines).
"""

import copy
import json

import nbformat
import pytest

from tests.helpers import BentoServer, NotebookPage, chromium, wait_for

pytestmark = pytest.mark.browser

PNG = (  # one pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
    "rkJggg=="
)


def code_cell(**extra):
    cell = {
        "cell_type": "code",
        "execution_count": 3,
        "metadata": {"collapsed": False, "scrolled": "auto", "tags": ["keep"], "x": {"k": [1, 2]}},
        "source": ["x = 1\n", "print(x)"],
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["1\n"]},
            {"output_type": "stream", "name": "stdout", "text": "two\nlines\n"},  # not merged
            {
                "output_type": "execute_result",
                "execution_count": 3,
                "metadata": {"isolated": True},
                "data": {"text/plain": ["1\n", "2"], "application/json": {"a": [1, None]}},
            },
            {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG}},
            {
                "output_type": "error",
                "ename": "E",
                "evalue": "v",
                "traceback": ["\x1b[31mE\x1b[0m"],
            },
        ],
    }
    cell.update(extra)
    return cell


def v4(minor, cells, metadata=None, ids=False):
    doc = {
        "nbformat": 4,
        "nbformat_minor": minor,
        "metadata": metadata if metadata is not None else {"custom": {"deep": [1, {"a": None}]}},
        "cells": cells,
    }
    if ids:
        for index, cell in enumerate(doc["cells"]):
            cell["id"] = f"cell-{index}"
    return doc


MARKDOWN_WITH_IMAGE = {
    "cell_type": "markdown",
    "metadata": {"tags": ["figure"]},
    "source": "A pasted image: ![dot](attachment:dot.png)\n\n*emphasis*",
    "attachments": {"dot.png": {"image/png": PNG}},
}
RAW = {
    "cell_type": "raw",
    "metadata": {"raw_mimetype": "text/restructuredtext"},
    "source": ".. note:: *not* markdown\n",
    "attachments": {"logo.png": {"image/png": PNG}},
}
V3 = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {"name": "old", "custom": 1},
    "worksheets": [
        {
            "cells": [
                {"cell_type": "heading", "level": 2, "metadata": {}, "source": "Title"},
                {
                    "cell_type": "code",
                    "collapsed": False,
                    "input": "1 + 1",
                    "language": "python",
                    "metadata": {},
                    "outputs": [
                        {"metadata": {}, "output_type": "pyout", "prompt_number": 1, "text": "2"}
                    ],
                    "prompt_number": 1,
                },
                {"cell_type": "markdown", "metadata": {}, "source": "some *text*"},
            ],
            "metadata": {},
        }
    ],
}

NOTEBOOKS = {
    "v4_0": v4(0, [code_cell(), {"cell_type": "markdown", "metadata": {}, "source": "# Hi"}]),
    "v4_1": v4(1, [code_cell(), {k: v for k, v in RAW.items() if k != "attachments"}]),
    "v4_2": v4(2, [code_cell(execution_count=None, outputs=[])], metadata={}),
    "v4_3": v4(3, [{"cell_type": "markdown", "metadata": {}, "source": []}, code_cell()]),
    "v4_4": v4(4, [code_cell(), copy.deepcopy(MARKDOWN_WITH_IMAGE), copy.deepcopy(RAW)]),
    "v4_5": v4(5, [copy.deepcopy(MARKDOWN_WITH_IMAGE), code_cell(), copy.deepcopy(RAW)], ids=True),
    "odd": v4(
        5,
        [
            {"cell_type": "custom_cell", "metadata": {"m": 1}, "source": "kept\n", "x-key": [1]},
            code_cell(
                outputs=[{"output_type": "custom_output", "data": {"a": 1}, "text": ["q\n", "r"]}]
            ),
            dict(copy.deepcopy(MARKDOWN_WITH_IMAGE), **{"x-extension": {"keep": True}}),
        ],
        ids=True,
    ),
}
VALID = {name for name in NOTEBOOKS if name != "odd"} | {"v3"}


def canonical(value):
    """nbformat's multiline strings joined; everything else as it is."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "".join(value)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def expected(name, saved):
    if name == "v3":
        doc = json.loads(nbformat.writes(nbformat.reads(json.dumps(V3), as_version=4)))
        doc["metadata"].pop("orig_nbformat", None)
        for cell in doc["cells"]:  # the conversion makes up ids, as the server's does
            del cell["id"]
    else:
        doc = copy.deepcopy(NOTEBOOKS[name])
    doc["nbformat_minor"] = 5
    for cell, written in zip(doc["cells"], saved["cells"], strict=True):
        cell.setdefault("id", written["id"])
    return canonical(doc)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roundtrip")
    for name, doc in {**NOTEBOOKS, "v3": V3}.items():
        (folder / f"{name}.ipynb").write_text(json.dumps(doc, indent=1))
    return folder


@pytest.fixture(scope="module")
def page(root):
    with BentoServer(root_dir=root) as server, chromium() as driver:
        driver.set_window_size(1400, 1000)
        yield NotebookPage(driver, server)


@pytest.mark.parametrize("name", sorted([*NOTEBOOKS, "v3"]))
def test_open_then_save_changes_nothing_but_the_format_upgrade(page, root, name):
    page.open(kernel="none", path=f"{name}.ipynb")
    banner = page.banner()
    if name in VALID:
        assert "does not validate" not in banner, banner
    else:
        assert "does not validate as a Jupyter notebook" in banner, banner
        assert "custom_cell" in banner or "custom_output" in banner, banner
    page.click("save")
    wait_for(lambda: f"Saved {name}.ipynb" in page.banner(), 20, "save", page.problems)
    saved = json.loads((root / f"{name}.ipynb").read_text())
    assert saved["nbformat"] == 4 and saved["nbformat_minor"] == 5
    ids = [cell["id"] for cell in saved["cells"]]
    assert len(set(ids)) == len(ids) and all(ids), ids
    assert canonical(saved) == expected(name, saved)
    if name in VALID:
        nbformat.validate(nbformat.reads(json.dumps(saved), as_version=4))


def test_attachments_render_and_raw_cells_show_their_text(page):
    page.open(kernel="none", path="v4_5.ipynb")
    shown = page.driver.execute_script(
        "return window.bento.notebook.cells.map((c) => ({type: c.type,"
        " images: [...c.rendered.querySelectorAll('img')].map((i) => i.src),"
        " text: c.rendered.innerText, select: c.typeSelect.value}))"
    )
    markdown, _, raw = shown
    assert markdown["images"] == [f"data:image/png;base64,{PNG}"], markdown
    assert "A pasted image" in markdown["text"]
    assert raw["type"] == "raw" and raw["select"] == "raw"
    assert raw["text"].strip() == ".. note:: *not* markdown", raw  # not rendered as markdown


def test_a_cell_of_an_unknown_type_keeps_its_type_in_the_page(page):
    page.open(kernel="none", path="odd.ipynb")
    first = page.driver.execute_script(
        "const c = window.bento.notebook.cells[0];"
        "return {type: c.type, select: c.typeSelect.value, text: c.rendered.innerText}"
    )
    assert (first["type"], first["select"], first["text"].strip()) == (
        "custom_cell",
        "custom_cell",
        "kept",
    ), first
