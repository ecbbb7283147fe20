"""One CORS rule for every /bento/api/... endpoint (data, uploads, sessions), preflights too,
on a real Jupyter Server: the page's own origin and --BentoApp.page_origins may call; any other
origin gets a 403 naming the option; a missing or wrong token is a structured refusal too."""

import json
import urllib.error
import urllib.request

import pytest

from tests.helpers import BentoServer

ALLOWED = "http://127.0.0.1:9"
FOREIGN = "http://127.0.0.1:1"
#: (method, path) of every endpoint family; the session id is made up (nothing runs).
ENDPOINTS = [
    ("POST", "sql"),
    ("GET", "connections"),
    ("POST", "uploads?table=t"),
    ("GET", "uploads"),
    ("GET", "uploads/no-such-job"),
    ("DELETE", "uploads/no-such-job"),
    ("GET", "sessions"),
    ("POST", "sessions/s1/execute"),
    ("POST", "sessions/s1/interrupt"),
    ("DELETE", "sessions/s1"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    demo = tmp_path_factory.mktemp("bento-demo") / "demo.duckdb"
    # Given with a trailing slash and capitals: origins compare normalised.
    with BentoServer(
        f"--BentoApp.demo_database={demo}", "--BentoApp.page_origins=HTTP://127.0.0.1:9/"
    ) as running:
        yield running


def call(server, method, path, *, origin=None, token="same", headers=None):
    sent = dict(headers or {})
    if origin:
        sent["Origin"] = origin
    if token:
        sent["Authorization"] = f"token {server.token if token == 'same' else token}"
    body = b"{}" if method == "POST" else None
    request = urllib.request.Request(
        f"{server.url}/bento/api/{path}", data=body, method=method, headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_preflight_allowed_origin_gets_cors_headers(server, method, path):
    status, headers, _ = call(
        server,
        "OPTIONS",
        path,
        origin=ALLOWED,
        token=None,
        headers={
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ALLOWED
    assert method in headers["Access-Control-Allow-Methods"]
    assert "authorization" in headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_foreign_origin_is_refused_with_the_option_to_set(server, method, path):
    for verb in ("OPTIONS", method):
        status, headers, body = call(server, verb, path, origin=FOREIGN, token=verb != "OPTIONS")
        assert status == 403, (verb, path, body)
        error = json.loads(body)["error"]
        assert error["ename"] == "ExecutorError" and error["status"] == 403
        assert f"--BentoApp.page_origins={FOREIGN}" in error["evalue"]
        # Only the refusal is readable by that page (so it can show why).
        assert headers["Access-Control-Allow-Origin"] == FOREIGN


def test_allowed_and_same_origin_reach_every_family(server):
    for origin in (ALLOWED, server.url, None):
        for path in ("connections", "uploads", "sessions"):
            status, headers, body = call(server, "GET", path, origin=origin)
            assert status == 200, (origin, path, body)
            expected = ALLOWED if origin == ALLOWED else None
            assert headers.get("Access-Control-Allow-Origin") == expected


def test_errors_of_an_allowed_origin_stay_readable(server):
    """A 400/404 answer keeps the CORS header (Tornado's send_error clears headers)."""
    status, headers, _ = call(server, "GET", "uploads/no-such-job", origin=ALLOWED)
    assert status == 404 and headers["Access-Control-Allow-Origin"] == ALLOWED
    _, headers, _ = call(
        server, "POST", "sql", origin=ALLOWED, headers={"Content-Type": "application/json"}
    )
    assert headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize("token", [None, "wrong"])
def test_missing_or_wrong_token_says_where_the_token_comes_from(server, token):
    for method, path in (("GET", "sessions"), ("POST", "sql"), ("GET", "uploads")):
        status, headers, body = call(server, method, path, origin=ALLOWED, token=token)
        assert status == 403
        error = json.loads(body)["error"]
        assert error["ename"] == "ExecutorError"
        assert ("no token" if token is None else "a wrong token") in error["evalue"]
        assert "BENTO_EXECUTOR_TOKEN" in error["evalue"] and "--token" in error["evalue"]
        assert headers["Access-Control-Allow-Origin"] == ALLOWED


def test_info_answers_without_a_token(server):
    status, _, body = call(server, "GET", "info", origin=ALLOWED, token=None)
    assert status == 200 and json.loads(body) == {"bento": "0.1.0", "api": 1}
    status, _, body = call(server, "GET", "info", origin=FOREIGN, token=None)
    assert status == 403 and "--BentoApp.page_origins" in json.loads(body)["message"]
