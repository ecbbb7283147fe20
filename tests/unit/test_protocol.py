import json
from pathlib import Path

import pytest

from bento_wasm import protocol
from bento_wasm.errors import ProtocolError

ROOT = Path(__file__).resolve().parents[2]


def test_message_builds_a_checked_dict():
    msg = protocol.message("stream", id="c1", name="stdout", text="hi\n")
    assert msg == {"type": "stream", "id": "c1", "name": "stdout", "text": "hi\n"}


def test_unknown_type_names_the_known_ones():
    with pytest.raises(ProtocolError, match="unknown message type 'nope'.*execute"):
        protocol.message("nope")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"id": "c1", "name": "stdout"}, "lacks field 'text'"),
        ({"id": "c1", "name": "stdout", "text": 3}, "must be string"),
        ({"id": "c1", "name": "stdout", "text": "x", "extra": 1}, "unknown fields"),
    ],
)
def test_bad_fields_are_refused(fields, problem):
    with pytest.raises(ProtocolError, match=problem):
        protocol.message("stream", **fields)


def test_boolean_is_not_a_number():
    with pytest.raises(ProtocolError, match="not a boolean"):
        protocol.message("execute_reply", id="c", status="ok", execution_count=True, duration_ms=1)


def test_optional_field_may_be_absent():
    msg = protocol.message(
        "display_data", id="c", data={"text/plain": "x"}, metadata={}, update=False
    )
    assert "display_id" not in msg


def test_js_side_reads_the_same_spec_and_spells_no_type():
    """The worker and page JS must not type message names as string literals."""
    spec = protocol.spec()
    served = json.loads((ROOT / "bento_wasm" / "protocol.json").read_text())
    assert spec == served
    page_sources = sorted((ROOT / "worker_js" / "page").glob("*.js"))
    assert page_sources, "the notebook page's sources are missing"
    kernel_js = (ROOT / "worker_js" / "kernel").glob("*.js")
    workers = sorted(p for p in kernel_js if p.name != "protocol.js")  # the spec's reader
    assert len(workers) >= 4, "the worker and kernel sources are missing"
    for path in [*workers, *page_sources]:
        source, text = path.name, path.read_text()
        for kind in spec["messages"]:
            assert f'"{kind}"' not in text and f"'{kind}'" not in text, (source, kind)


def test_enumerated_fields_are_checked():
    with pytest.raises(ProtocolError, match="one of"):
        protocol.message("stream", id="c", name="stdlog", text="x")
    with pytest.raises(ProtocolError, match="one of"):
        protocol.message("execute_reply", id="c", status="fine", execution_count=1, duration_ms=1)
