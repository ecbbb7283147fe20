"""Why a call to a bento server got no usable answer, in words that say what to set.

A browser reports a refused CORS preflight, a server that is down and a wrong host alike: a
request with no answer. When a call to ``/bento/api/...`` fails that way, or answers with
something that is not the bento API's JSON, the clients (the data magics, the offload
client) ask ``GET <server>/bento/api/info``: a simple request (no token, no preflight) that
a bento server answers for every origin, with its version when the origin may call it and
with the 403 that names ``--BentoApp.page_origins`` when not.
"""

from __future__ import annotations

import json

from ..errors import BentoError, ExecutorError, NetworkError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .interface import Environment

__all__ = ["INFO_PATH", "diagnose"]

INFO_PATH = "/bento/api/info"
WHERE = "`%executor URL --token TOKEN`, BENTO_EXECUTOR_URL, or executor.url in the kernel options"


def diagnose(environment: Environment, server_url: str, failure: str) -> BentoError:
    """The error to raise for ``failure`` (what went wrong) at the bento server ``server_url``."""
    url = server_url.rstrip("/")
    try:
        answer = environment.fetch(url + INFO_PATH, timeout_s=10.0)
    except NetworkError:
        return ExecutorError(
            f"cannot reach the executor at {url}: not reachable ({failure}). Start it with "
            "`bento serve` "
            "(or `python -m bento_wasm.server`; `./dev run` in a checkout of bento-wasm) and "
            f"check the URL given by {WHERE}.",
            url=url,
        )
    try:
        data = json.loads(answer.body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return BentoError.from_dict(data["error"])  # the server's refusal (origin), as sent
    if answer.ok and isinstance(data, dict) and "bento" in data:
        return ExecutorError(
            f"the executor at {url} (bento {data['bento']}) is up and allows this page, but the "
            f"call failed: {failure}. Check the server's log.",
            url=url,
        )
    kind = answer.headers.get("content-type", "no content type").split(";")[0]
    return ExecutorError(
        f"{url} is not a bento server: GET {INFO_PATH} answered HTTP {answer.status} ({kind}). "
        f"Point {WHERE} at the URL `bento serve` printed (its root, without /bento/...), or "
        "enable the extension on that Jupyter server (`jupyter server extension enable "
        "bento_wasm.server`).",
        url=url,
        status=answer.status,
    )
