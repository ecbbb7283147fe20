"""Every door locked: each /bento/api endpoint and the page's contents calls refuse a request
with no token, with a wrong token, and from a foreign origin (with the right token); a notebook
whose markdown and outputs carry script and event-handler payloads renders without running them.
"""

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers import BentoServer, NotebookPage, chromium

pytestmark = pytest.mark.browser

FOREIGN = "http://evil.example:8080"
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {},
    "cells": [],
}

# A value no answer may carry: 7 digits, so that no port number in an error message can hold it
# (with "42" a server on port 42711 failed every refusal that names its URL).
SECRET = "7319468"
# (method, path, body): every route of bento_wasm/server (sessionapi.py, dataapi.py,
# stdinapi.py) and the contents API calls the page makes (contents.js).
DOORS = [
    ("POST", "/bento/api/sessions/door/execute", b"\x00" * 16),
    ("POST", "/bento/api/sessions/door/interrupt", b""),
    ("DELETE", "/bento/api/sessions/door", None),
    ("GET", "/bento/api/sessions", None),
    ("POST", "/bento/api/sql", json.dumps({"sql": f"select {SECRET} as secret"}).encode()),
    ("GET", "/bento/api/connections", None),
    ("GET", "/bento/api/uploads", None),
    ("POST", "/bento/api/uploads?table=door", b"not arrow"),
    ("GET", "/bento/api/uploads/upload-1", None),
    ("DELETE", "/bento/api/uploads/upload-1", None),
    ("GET", "/bento/api/stdin/door/cell-1.1?wait=0", None),
    ("POST", "/bento/api/stdin/door/cell-1.1", json.dumps({"value": SECRET}).encode()),
    ("GET", "/api/contents/secret.ipynb?type=notebook&content=1", None),
    ("PUT", "/api/contents/written.ipynb", json.dumps(
        {"type": "notebook", "format": "json", "content": NOTEBOOK}).encode()),
]  # fmt: skip
CALLERS = {
    "no token": {},
    "wrong token": {"Authorization": "token not-the-token"},
    "foreign origin": {"Origin": FOREIGN},  # with the right token (added below)
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("doors")
    (root / "secret.ipynb").write_text(json.dumps(NOTEBOOK))
    (root / "xss.ipynb").write_text(json.dumps(XSS))
    with BentoServer(root_dir=root) as running:
        running.root = root
        yield running


def request(server, method, path, body, headers):
    sent = {"Content-Type": "application/json", **headers}
    if "Origin" in headers:
        sent["Authorization"] = f"token {server.token}"
    req = urllib.request.Request(server.url + path, data=body, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


@pytest.mark.parametrize("caller", sorted(CALLERS))
@pytest.mark.parametrize(("method", "path", "body"), DOORS, ids=[f"{m} {p}" for m, p, _ in DOORS])
def test_every_door_refuses_who_may_not_enter(server, caller, method, path, body):
    status, answer, headers = request(server, method, path, body, CALLERS[caller])
    assert status in (401, 403, 404), (status, answer[:300])
    assert b"secret" not in answer and SECRET.encode() not in answer, answer[:300]
    if headers.get("Access-Control-Allow-Origin") == FOREIGN:
        # Only a refusal may be readable from the foreign page, so that it can say which
        # option to set (--BentoApp.page_origins); it carries nothing else.
        assert status == 403 and b"page_origins" in answer, answer[:300]
        assert set(json.loads(answer)) <= {"error", "message"}, answer[:300]
    assert not (server.root / "written.ipynb").exists()


def test_the_right_token_from_the_page_s_own_origin_enters(server):
    """The same table's doors open for the right caller: the refusals above are not an outage."""
    status, answer, _ = request(
        server, "GET", "/bento/api/connections", None, {"Authorization": f"token {server.token}"}
    )
    assert status == 200 and b"default" in answer
    [contents] = [door for door in DOORS if door[1].startswith("/api/contents/secret")]
    status, answer, _ = request(server, *contents[:2], None, {
        "Authorization": f"token {server.token}"})  # fmt: skip
    assert status == 200 and b"cells" in answer


SCRIPT = "<script>window.__pwned = (window.__pwned || 0) + 1</script>"
HANDLER = '<img src="x" onerror="window.__pwned = (window.__pwned || 0) + 1">'
SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned = 1"><script>window.__pwned = 1</script></svg>'  # noqa: E501
MD_LINK = "[x](javascript:window.__pwned=1) ![y](attachment:a.png)"
LINK = '<a id="jslink" href="javascript:window.__pwned = 1">click</a>'
XSS = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {},
    "cells": [
        {
            "id": "md",
            "cell_type": "markdown",
            "metadata": {},
            "source": f"# Title\n\n{SCRIPT}\n\n{HANDLER}\n\n{LINK}\n\n{MD_LINK}",
            "attachments": {"a.png": {"image/png": "\" onerror=\"window.__pwned=1"}},
        },
        {
            "id": "code",
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "source": "x",
            "outputs": [
                {"output_type": "display_data", "metadata": {},
                 "data": {"text/html": SCRIPT + HANDLER + LINK}},
                {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": SVG}},
                {"output_type": "display_data", "metadata": {},
                 "data": {"application/javascript": "window.__pwned = 1"}},
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/markdown": SCRIPT + HANDLER, "text/plain": "x"}},
                {"output_type": "stream", "name": "stdout", "text": SCRIPT},
                {"output_type": "error", "ename": "E", "evalue": HANDLER, "traceback": [SCRIPT]},
            ],
        },
        {"id": "raw", "cell_type": "raw", "metadata": {}, "source": SCRIPT + HANDLER},
    ],
}  # fmt: skip


def test_a_notebook_carrying_scripts_renders_without_running_them(server):
    with chromium() as driver:
        page = NotebookPage(driver, server)
        page.open(kernel="none", path="xss.ipynb")
        time.sleep(1)  # let images fail to load (their onerror would run now)
        found = driver.execute_script(
            "const all = [...document.querySelectorAll('.cell *')];"
            "return {pwned: window.__pwned || 0,"
            " scripts: document.querySelectorAll('.cell script').length,"
            " handlers: all.filter((e) => [...e.attributes].some((a) => a.name.startsWith('on')))"
            "   .length,"
            " jslinks: all.filter((e) => (e.getAttribute('href') || '').startsWith('javascript'))"
            "   .length,"
            " cells: window.bento.notebook.cells.length,"
            " text: document.querySelector('.cell').innerText}"
        )
    assert found["cells"] == 3, found
    assert "Title" in found["text"], found  # it rendered
    assert (found["pwned"], found["scripts"], found["handlers"], found["jslinks"]) == (0, 0, 0, 0)
