"""The record: papermill's metadata keys and error markers, so papermill's tools read it."""

from papermill import execute as pm_execute

from bento_wasm.runs import record
from tests.helpers import notebook


def _begun():
    nb = notebook(("# title", "markdown"), ("x = 1", ["parameters"]), "y = x", "z = y")
    record.begin(
        nb,
        input_path="in.ipynb",
        output_path="out.ipynb",
        parameters={"x": 2},
        default_parameters={"x": 1},
    )
    return nb


def test_markers_are_papermills_own():
    assert record.ERROR_MARKER_TAG == pm_execute.ERROR_MARKER_TAG
    assert record.ERROR_MESSAGE_TEMPLATE == pm_execute.ERROR_MESSAGE_TEMPLATE
    assert record.ERROR_ANCHOR_MSG == pm_execute.ERROR_ANCHOR_MSG


def test_a_failed_cell_is_marked_as_papermill_marks_it():
    nb = _begun()
    for index in (1, 2):
        record.cell_started(nb["cells"][index])
        record.cell_done(nb, nb["cells"][index], [], index, failed=index == 2)
    new_index = record.mark_failure(nb, 2)
    record.finish(nb, {"status": "failed"})
    cells = nb["cells"]
    assert cells[0]["source"] == pm_execute.ERROR_MESSAGE_TEMPLATE % "2"
    assert cells[new_index - 1]["source"] == pm_execute.ERROR_ANCHOR_MSG
    assert cells[new_index]["source"] == "y = x"
    meta = cells[new_index]["metadata"]["papermill"]
    assert meta["status"] == "failed" and meta["exception"] is True
    assert meta["duration"] is not None and meta["end_time"] >= meta["start_time"]
    assert cells[-1]["metadata"]["papermill"]["status"] == "pending"  # never ran
    assert nb["metadata"]["papermill"]["exception"] is True
    assert nb["metadata"]["papermill"]["parameters"] == {"x": 2}
    # papermill's own clean-up finds exactly our two markers
    assert len(pm_execute.remove_error_markers(_as_node(nb)).cells) == len(cells) - 2


def test_a_new_run_drops_the_markers_of_the_last_one_and_success_leaves_nothing_pending():
    nb = _begun()
    record.mark_failure(nb, 2)
    record.begin(
        nb, input_path="in.ipynb", output_path="out.ipynb", parameters={}, default_parameters={}
    )
    assert not any(
        record.ERROR_MARKER_TAG in (c["metadata"].get("tags") or []) for c in nb["cells"]
    )
    record.finish(nb, {"status": "completed"})
    assert {c["metadata"]["papermill"]["status"] for c in nb["cells"]} == {"completed"}
    assert nb["metadata"]["papermill"]["exception"] is False
    assert nb["metadata"]["bento"] == {"status": "completed"}


def test_report_mode_hides_code_inputs():
    nb = notebook("x = 1", ("# md", "markdown"))
    record.begin(
        nb, input_path="i", output_path="o", parameters={}, default_parameters={}, report_mode=True
    )
    assert nb["cells"][0]["metadata"]["jupyter"] == {"source_hidden": True}
    assert "jupyter" not in nb["cells"][1]["metadata"]


def _as_node(nb):
    import nbformat

    return nbformat.from_dict(nb)
