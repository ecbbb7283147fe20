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
