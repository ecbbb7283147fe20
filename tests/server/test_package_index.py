"""The package index on a real bento server (Jupyter Server): /bento/pypi/simple/ lists and
serves the wheels of --BentoApp.wheel_dir and of ``pip download`` (real, from the registry this
machine's pip uses), readable from any origin without a token, with PEP 503 HTML and PEP 691
JSON as micropip asks for them, and the reason when a project has no wheel for Pyodide."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request
import zipfile

import pytest

from tests.helpers import BentoServer

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
#: What micropip 0.9 sends (micropip/package_index.py, query_package).
MICROPIP_ACCEPT = "application/vnd.pypi.simple.v1+json, */*;q=0.01"
PAGE = "http://page.example"


def get(server, path, accept="text/html"):
    request = urllib.request.Request(
        server.url + path, headers={"Accept": accept, "Origin": PAGE}
    )  # no token: the index is public, like the browser wheel
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheels")
    names = ("bento_demo_pkg-1.0-py3-none-any.whl",
             "bento_demo_pkg-1.1-cp312-cp312-manylinux_2_17_x86_64.whl")  # fmt: skip
    for name in names:
        with zipfile.ZipFile(folder / name, "w") as archive:
            archive.writestr("bento_demo_pkg/__init__.py", "VALUE = 1\n")
    return folder


@pytest.fixture(scope="module")
def server(wheels, tmp_path_factory):
    cache = tmp_path_factory.mktemp("pypi-cache")
    with BentoServer(
        f"--BentoApp.wheel_dir={wheels}", f"--BentoApp.package_cache={cache}"
    ) as running:
        running.cache = cache
        yield running


def test_the_wheel_folder_is_listed_in_json_and_html_and_its_files_served(server, wheels):
    status, headers, body = get(server, "/bento/pypi/simple/bento-demo-pkg/", MICROPIP_ACCEPT)
    assert status == 200, body
    assert headers["Content-Type"] == JSON_TYPE  # micropip matches it exactly
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    page = json.loads(body)
    assert page["name"] == "bento-demo-pkg" and page["meta"]["api-version"] == "1.0"
    [entry] = page["files"]  # the manylinux wheel is not listed
    assert entry["filename"] == "bento_demo_pkg-1.0-py3-none-any.whl"
    assert entry["url"].startswith(server.url + "/bento/pypi/files/bento-demo-pkg/")

    status, headers, data = get(server, entry["url"][len(server.url) :], "*/*")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert data == (wheels / entry["filename"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["hashes"]["sha256"]

    status, headers, body = get(server, "/bento/pypi/simple/Bento_Demo.Pkg/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f'#sha256={entry["hashes"]["sha256"]}">bento_demo_pkg-1.0-py3-none-any.whl</a>' in (
        body.decode()
    )
    status, _, body = get(server, "/bento/pypi/simple/")
    assert status == 200 and '<a href="bento-demo-pkg/">bento-demo-pkg</a>' in body.decode()


def test_a_missing_file_or_a_path_outside_is_404(server):
    for path in (
        "/bento/pypi/files/bento-demo-pkg/nothing-1.0-py3-none-any.whl",
        "/bento/pypi/files/bento-demo-pkg/..%2F..%2Fetc%2Fpasswd",
    ):
        assert get(server, path, "*/*")[0] == 404


def test_pip_fetches_a_pure_wheel_on_the_first_request_without_blocking_the_server(server):
    answered = {}

    def ask():
        answered["pip"] = get(server, "/bento/pypi/simple/humanize/", MICROPIP_ACCEPT)

    asking = threading.Thread(target=ask)
    asking.start()
    static_while_pip_ran = 0
    while asking.is_alive():
        status, _, _ = get(server, "/bento/static/kernel/protocol.json", "*/*")
        if asking.is_alive() and status == 200:
            static_while_pip_ran += 1
    asking.join()
    assert static_while_pip_ran > 0, "the server did not answer while pip ran"
    status, _, body = answered["pip"]
    assert status == 200, body
    [entry] = json.loads(body)["files"]
    assert entry["filename"].startswith("humanize-") and entry["filename"].endswith("none-any.whl")
    assert list((server.cache / "humanize").glob("humanize-*.whl"))
    status, _, data = get(server, entry["url"][len(server.url) :], "*/*")
    assert status == 200 and hashlib.sha256(data).hexdigest() == entry["hashes"]["sha256"]


def test_want_fetches_a_pinned_version(server):
    status, _, body = get(
        server, "/bento/pypi/simple/tabulate/?want=tabulate%3D%3D0.8.10", JSON_TYPE
    )
    assert status == 200, body
    assert "tabulate-0.8.10-py3-none-any.whl" in [f["filename"] for f in json.loads(body)["files"]]


def test_compiled_code_and_runtime_packages_answer_404_with_the_reason(server):
    status, headers, body = get(server, "/bento/pypi/simple/psutil/", "application/json")
    assert status == 404 and headers["Access-Control-Allow-Origin"] == "*"
    error = json.loads(body)["error"]
    assert (error["ename"], error["project"], error["reason"]) == (
        "PackageUnavailable",
        "psutil",
        "compiled",
    )
    assert "WebAssembly" in error["evalue"] and "%%remote" in error["evalue"]
    status, _, page = get(server, "/bento/pypi/simple/psutil/")  # a person's browser
    assert status == 404 and b"compiled code" in page and b"<p>" in page
    status, _, body = get(server, "/bento/pypi/simple/numpy/", MICROPIP_ACCEPT)
    assert status == 404 and json.loads(body)["error"]["reason"] == "in_runtime"


def test_the_page_config_names_the_index(server):
    assert server.config()["packageIndex"] == "/bento/pypi/simple"
