import json

import pytest

from bento_wasm.errors import (
    ArrowError,
    BentoError,
    ExecutorError,
    MemoryBudgetExceeded,
    RuntimeAssemblyError,
)


def test_errors_subclass_stdlib_categories():
    assert issubclass(MemoryBudgetExceeded, MemoryError)
    assert issubclass(ExecutorError, OSError)
    assert issubclass(ArrowError, ValueError)
    assert issubclass(RuntimeAssemblyError, BentoError)


def test_round_trip_keeps_class_message_and_fields():
    error = MemoryBudgetExceeded("too big", requested_bytes=10, available_bytes=3)
    again = BentoError.from_dict(error.to_dict())
    assert type(again) is MemoryBudgetExceeded
    assert str(again) == "too big"
    assert (again.requested_bytes, again.available_bytes) == (10, 3)


def test_unknown_names_become_the_root():
    again = BentoError.from_dict({"ename": "Nope", "evalue": "x"})
    assert type(again) is BentoError and again.message == "x"
    with pytest.raises(BentoError):
        raise again


def test_run_failed_keeps_its_class_and_the_cells_error_across_a_boundary():
    from bento_wasm.errors import RunFailed, RunRefused

    error = RunFailed("cell 3 ('x = 1/0') failed: ZeroDivisionError: division by zero",
                      cell_index=2, cell_first_line="x = 1/0", ename="ZeroDivisionError",
                      evalue="division by zero", output_path="/o.ipynb")  # fmt: skip
    data = error.to_dict()
    assert (data["ename"], data["evalue"]) == ("RunFailed", error.message)
    assert data["cell_error"] == {"ename": "ZeroDivisionError", "evalue": "division by zero"}
    again = RunFailed.from_dict(json.loads(json.dumps(data)))
    assert type(again) is RunFailed
    assert (again.cell_index, again.ename, again.evalue, again.output_path) == (
        2, "ZeroDivisionError", "division by zero", "/o.ipynb")  # fmt: skip
    refused = BentoError.from_dict(RunRefused("no", cell_index=1).to_dict())
    assert isinstance(refused, RunRefused) and isinstance(refused, RunFailed)
