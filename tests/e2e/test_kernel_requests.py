"""Completion and inspection requests beside running cells, in the serverless kernel.

- An Interrupt pressed while only a completion is pending has no cell to stop: the next cell
  runs (it used to be interrupted at once, the signal left pending in the shared buffer).
- While a cell runs, Python is busy and cannot answer: complete/inspect/is_complete answer at
  once with nothing (JupyterLab shows nothing while its kernel is busy) instead of waiting for
  the cell to end. The cell here is held in input() until the test answers, so the order of
  events is fixed, not a matter of timing.
"""

import pytest

from tests.helpers import BentoServer, PageKernel, chromium, wait_for

pytestmark = pytest.mark.browser

INTERRUPT_DURING_COMPLETION_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const kernel = window.kernel;
  const asked = kernel.complete("pri", 3);  // the first completion loads IPython and jedi
  await new Promise((resolve) => setTimeout(resolve, 0));
  const pending = [...kernel._pending.keys()];
  const interrupted = kernel.interrupt();
  return { pending, interrupted, reply: await asked };
})().then(done, (err) => done({ error: err.message }));
"""

ASK_WHILE_BUSY_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const kernel = window.kernel;
  let ended = false;
  window.held = kernel.execute("held = input('hold: ')\\nheld").then((r) => {
    ended = true;
    return r;
  });
  await new Promise((resolve) => {
    const check = () => window.bento_log.some((m) => m.type === "input_request")
      ? resolve() : setTimeout(check, 50);
    check();
  });
  const complete = await kernel.complete("pri", 3);
  const inspect = await kernel.inspect("len", 3);
  const isComplete = await kernel.isComplete("for x in y:");
  return { complete, inspect, isComplete, endedBeforeAnswers: ended };
})().then(done, (err) => done({ error: err.message }));
"""

FINISH_HELD_JS = """
const done = arguments[arguments.length - 1];
window.kernel.sendInput("let go");
window.held.then((r) => done(r), (err) => done({ error: err.message }));
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    demo = tmp_path_factory.mktemp("requests-demo") / "demo.duckdb"
    with BentoServer(f"--BentoApp.demo_database={demo}") as server, chromium() as driver:
        page = PageKernel(driver, server)
        started = page.start(preload=[])
        assert started["ok"], started
        assert driver.execute_script("return crossOriginIsolated") is True
        yield page


def test_an_interrupt_while_only_a_completion_waits_does_not_stop_the_next_cell(kernel):
    result = kernel.driver.execute_async_script(INTERRUPT_DURING_COMPLETION_JS)
    assert result.get("error") is None, result
    assert [key.split("-")[0] for key in result["pending"]] == ["ask"], "only a completion waits"
    assert result["interrupted"] is True
    assert "print" in result["reply"]["matches"], result["reply"]
    assert kernel.text("6 * 7") == "42", "the next cell runs, not interrupted"


def test_completion_and_help_answer_at_once_with_nothing_while_a_cell_runs(kernel):
    result = kernel.driver.execute_async_script(ASK_WHILE_BUSY_JS)
    assert result.get("error") is None, result
    assert result["endedBeforeAnswers"] is False, "answered while the cell still ran"
    complete = result["complete"]
    assert (complete["status"], complete["matches"]) == ("ok", []), complete
    assert (complete["cursor_start"], complete["cursor_end"]) == (3, 3)
    assert (result["inspect"]["status"], result["inspect"]["found"]) == ("ok", False)
    assert result["isComplete"]["status"] == "unknown"
    held = kernel.driver.execute_async_script(FINISH_HELD_JS)
    assert held["reply"]["status"] == "ok", held
    assert [m["data"]["text/plain"] for m in held["outputs"] if m["type"] == "execute_result"] == [
        "'let go'"
    ]
    # Idle again: the kernel answers for real.
    reply = kernel.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.kernel.complete('pri', 3).then(done, (e) => done({error: e.message}));"
    )
    assert "print" in reply["matches"], reply
    wait_for(lambda: kernel.text("held") == "'let go'", 30, "the namespace to keep held")
