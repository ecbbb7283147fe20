"""The package index's core (bento_wasm/server/pypi.py): which wheels are listed, where they
come from, and why a project has none. The pip tests run the real ``pip download`` against
the registry this machine's pip uses (PyPI); tabulate and humanize are not in the runtime."""

import json
import zipfile

import pytest

from bento_wasm.errors import BentoError, PackageUnavailable
from bento_wasm.server.pypi import PackageIndex, installable, normalize

CLOSED_INDEX = ["--index-url", "http://127.0.0.1:9/simple"]


def make_wheel(folder, filename):
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / filename, "w") as archive:
        archive.writestr("placeholder.txt", filename)
    return folder / filename


@pytest.mark.parametrize(
    ("filename", "listed"),
    [
        ("tabulate-0.9.0-py3-none-any.whl", True),
        ("six-1.16.0-py2.py3-none-any.whl", True),
        ("numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl", True),
        ("pandas-3.0.0-cp312-cp312-pyemscripten_2024_0_wasm32.whl", True),
        ("regex-2024.1-cp312-cp312-emscripten_3_1_58_wasm32.whl", True),
        ("regex-2024.1-cp311-cp311-emscripten_3_1_46_wasm32.whl", False),
        ("psutil-7.0.0-cp36-abi3-manylinux_2_17_x86_64.whl", False),
        ("legacy-1.0-py2-none-any.whl", False),
        ("tabulate-0.9.0.tar.gz", False),
        ("not a wheel.whl", False),
    ],
)
def test_only_wheels_the_browser_can_install_are_listed(filename, listed):
    assert installable(filename) is listed


def test_names_are_normalized_as_pep_503_says():
    assert normalize("Python_Dateutil") == "python-dateutil"
    assert normalize("zope.interface") == "zope-interface"


def test_the_wheel_folder_is_served_without_pip(tmp_path):
    folder = tmp_path / "wheels"
    make_wheel(folder, "My_Pkg-1.0-py3-none-any.whl")
    make_wheel(folder, "My_Pkg-1.1-cp312-cp312-manylinux_2_17_x86_64.whl")
    make_wheel(folder, "other-2.0-py3-none-any.whl")
    index = PackageIndex(folder, tmp_path / "cache", pip_fallback=False)
    wheels = index.ensure("my-pkg")
    assert [w.filename for w in wheels] == ["My_Pkg-1.0-py3-none-any.whl"]
    assert index.projects() == ["my-pkg", "other"]
    assert index.file("my-pkg", "My_Pkg-1.0-py3-none-any.whl") == folder / wheels[0].filename
    assert index.file("my-pkg", "other-2.0-py3-none-any.whl") is None  # another project's
    assert index.file("my-pkg", "../wheels/My_Pkg-1.0-py3-none-any.whl") is None
    with pytest.raises(PackageUnavailable) as missing:
        index.ensure("my-pkg>=1.1")
    assert missing.value.reason == "not_found"
    assert "pip_fallback" in str(missing.value) and "my-pkg>=1.1" in str(missing.value)


def test_pip_fetches_a_pure_wheel_once_and_a_pinned_version_on_demand(tmp_path):
    index = PackageIndex(None, tmp_path / "cache")
    [first] = index.ensure("tabulate")
    assert first.filename.startswith("tabulate-") and first.filename.endswith("-none-any.whl")
    assert first.path.parent == tmp_path / "cache" / "tabulate"
    assert len(index.sha256(first.path)) == 64
    index.pip_options = CLOSED_INDEX  # pip would now fail: the cached wheel answers
    assert index.ensure("tabulate") == [first]
    index.pip_options = []
    versions = [str(w.version) for w in index.ensure("tabulate==0.8.10")]
    assert "0.8.10" in versions and str(first.version) in versions


def test_a_package_with_compiled_code_gets_a_reason_and_advice(tmp_path):
    index = PackageIndex(None, tmp_path / "cache")
    with pytest.raises(PackageUnavailable) as refused:
        index.ensure("psutil")
    error = refused.value
    assert (error.project, error.reason) == ("psutil", "compiled")
    assert "compiled code" in error.message and "WebAssembly" in error.message
    assert "%%remote" in error.message and "Server kernel" in error.message
    again = BentoError.from_dict(error.to_dict())  # it travels as data to the kernel
    assert isinstance(again, PackageUnavailable) and again.reason == "compiled"


def test_no_such_project_and_a_bad_requirement(tmp_path):
    index = PackageIndex(None, tmp_path / "cache")
    with pytest.raises(PackageUnavailable) as missing:
        index.ensure("no-such-project-bento-zz")
    assert missing.value.reason == "not_found" and "spelling" in missing.value.message
    with pytest.raises(PackageUnavailable) as bad:
        index.ensure("two words")
    assert bad.value.reason == "invalid"


def test_an_unreachable_registry_is_named(tmp_path):
    index = PackageIndex(None, tmp_path / "cache", pip_options=CLOSED_INDEX)
    with pytest.raises(PackageUnavailable) as unreachable:
        index.ensure("humanize==0.0.1")
    assert unreachable.value.reason == "unreachable"
    assert "could not reach the package registry" in unreachable.value.message
    assert "humanize" in unreachable.value.message


def test_the_runtimes_own_packages_are_left_to_its_lock(tmp_path):
    runtime = tmp_path / "runtime"
    make_wheel(runtime, "six-1.16.0-py2.py3-none-any.whl")
    lock = {
        "packages": {
            "six": {"name": "six", "file_name": "six-1.16.0-py2.py3-none-any.whl"},
            # listed in the official lock, but this runtime folder lacks its file
            "toolz": {"name": "toolz", "file_name": "toolz-0.12.1-py3-none-any.whl"},
        }
    }
    (runtime / "pyodide-lock.json").write_text(json.dumps(lock))
    index = PackageIndex(None, tmp_path / "cache", runtime_lock=runtime / "pyodide-lock.json")
    assert index.runtime == {"six"}
    with pytest.raises(PackageUnavailable) as local:
        index.ensure("six")
    assert local.value.reason == "in_runtime" and "offline" in local.value.message
    [toolz] = index.ensure("toolz")  # fetched with pip like any project
    assert toolz.project == "toolz" and toolz.path.parent == tmp_path / "cache" / "toolz"
    make_wheel(tmp_path / "wheels", "six-1.17.0-py2.py3-none-any.whl")
    index.wheel_dir = tmp_path / "wheels"  # a wheel folder may override the runtime's
    assert [w.filename for w in index.ensure("six")] == ["six-1.17.0-py2.py3-none-any.whl"]
