"""End to end: everyday Jupyter cells give the same outputs in both kernels of the page.

One notebook of cells a Jupyter user types without thinking (IPython's magics, ``?`` help,
``%%capture``, ``%%writefile`` + ``%run``, ``%matplotlib inline``, bento's own ``%memory``) runs
in the serverless kernel (Pyodide, IPython loaded on first need) and then in the Server kernel
(ipykernel), both by clicking; the outputs are compared after what must differ is normalised
(timings, addresses, terminal colours). Screenshots go to artifacts/.
"""

import os
import re
import time

import nbformat
import pytest

from tests.helpers import BentoServer, NotebookPage, chromium, wait_for

pytestmark = pytest.mark.browser

#: A file both kernels write (the browser's in its own file system, the server's on the host).
SCRIPT = f"/tmp/bento_classic_{os.getpid()}.py"
#: The everyday cells, in order. Each is compared across the kernels.
CELLS = [
    "x = 6 * 7\nname = 'bento'\nx",
    "%who",
    "len?",
    "?len",
    "len??",
    "%timeit -n 3 -r 2 sum(range(100))",
    "%%time\ntotal = sum(range(1000))\ntotal",
    "%env BENTO_CLASSIC=yes",
    "%env BENTO_CLASSIC",
    "%%capture captured\nprint('not shown')\nx",
    "captured.stdout",
    f"%%writefile {SCRIPT}\nanswer = 41 + 1\nprint('ran the script:', answer)",
    f"%run {SCRIPT}",
    "answer",
    "%matplotlib inline",
    "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2]);",
    "%who",
    "1/0",
    "%history",
]
#: Cells the serverless kernel answers differently on purpose: no shell in a browser tab.
NO_SHELL = ["!ls", "files = !ls", "%%bash\nls", "%%sh\necho hi", "%system ls"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TIME = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?\s?(?:ns|\u00b5s|\u03bcs|us|ms|s)\b")
#: Printed once by the first matplotlib import of a fresh installation (the browser's always is).
_FONT_CACHE = "Matplotlib is building the font cache; this may take a moment.\n"
_ADDRESS = re.compile(r"0x[0-9a-f]+")
#: %timeit's warning when its runs differ a lot: either kernel prints it, depending on timing.
_SLOWEST = re.compile(r"The slowest run took [^\n]*\n(?:[^\n]*cached\.\n)?")


def normal(outputs):
    """What must match: output kinds, mime types, text with timings and colours taken out."""
    shown = []
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            text = _SLOWEST.sub("", "".join(output["text"]).replace(_FONT_CACHE, ""))
            if not text:
                continue
            if shown and shown[-1][0] == "stream" and shown[-1][1] == output["name"]:
                shown[-1] = ("stream", output["name"], shown[-1][2] + text)
            else:
                shown.append(("stream", output["name"], text))
        elif kind == "error":
            shown.append(("error", output["ename"], output["evalue"]))
        else:
            data = output["data"]
            text = "".join(data.get("text/plain", ""))
            shown.append((kind, tuple(sorted(data)), text))
    return [
        (kind, what, _ADDRESS.sub("0x…", _TIME.sub("T", _ANSI.sub("", text))))
        for kind, what, text in shown
    ]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classic")
    (folder / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS + NO_SHELL]
    nbformat.write(notebook, folder / "notebooks" / "classic.ipynb")
    return folder


@pytest.fixture(scope="module")
def page(root):
    with BentoServer(root_dir=root) as server, chromium() as driver:
        driver.set_window_size(1400, 1000)
        yield NotebookPage(driver, server)


def run_all(page, count):
    """Run the first ``count`` cells one by one (Run all stops at the first error)."""
    return [page.run_cell(index, timeout_s=120)["outputs"] for index in range(count)]


@pytest.fixture
def script():
    yield
    if os.path.exists(SCRIPT):
        os.remove(SCRIPT)


def test_everyday_cells_match_ipykernel(page, script):
    page.open("serverless", path="notebooks/classic.ipynb")
    serverless = run_all(page, len(CELLS) + len(NO_SHELL))
    page.screenshot("classic-serverless.png")
    for source, outputs in zip(NO_SHELL, serverless[len(CELLS) :], strict=True):
        [error] = [o for o in outputs if o["output_type"] == "error"]
        assert error["ename"] == "NoShellError", (source, outputs)
        assert "browser tab" in error["evalue"] and "%%remote" in error["evalue"], error
        assert "Server kernel" in error["evalue"], error

    page.choose_kernel("server")
    server = run_all(page, len(CELLS))
    page.screenshot("classic-server.png")
    differ = [
        f"{source!r}:\n  serverless {normal(mine)}\n  server     {normal(theirs)}"
        for source, mine, theirs in zip(CELLS, serverless, server, strict=False)
        if normal(mine) != normal(theirs)
    ]
    assert not differ, "\n".join(differ)

    for source, mine, theirs in zip(CELLS, serverless, server, strict=False):
        assert normal(mine) == normal(theirs), source
    # The comparison is not vacuous: the cells showed what they should.
    shown = dict(zip(CELLS, [normal(o) for o in serverless], strict=False))
    assert normal(serverless[1]) == [("stream", "stdout", "name\t x\t \n")]
    assert shown["%who"][0][2] == "answer\t captured\t name\t plt\t total\t x\t \n"
    assert "Return the number of items in a container." in shown["len?"][0][2]
    assert "per loop (mean ± std. dev. of 2 runs, 3 loops each)" in shown[CELLS[5]][0][2]
    assert shown["%env BENTO_CLASSIC"] == [("execute_result", ("text/plain",), "'yes'")]
    assert shown["captured.stdout"] == [("execute_result", ("text/plain",), "'not shown\\n'")]
    assert shown[CELLS[11]] == [("stream", "stdout", f"Writing {SCRIPT}\n")]
    assert shown[f"%run {SCRIPT}"] == [("stream", "stdout", "ran the script: 42\n")]
    [figure] = shown[CELLS[15]]
    assert figure[:2] == ("display_data", ("image/png", "text/plain")), figure
    assert shown["1/0"] == [("error", "ZeroDivisionError", "division by zero")]
    assert shown["%history"][0][2].startswith("x = 6 * 7\nname = 'bento'\nx\n%who\nlen?\n")


def test_bentos_own_magics_still_work_after_ipython_loaded(page):
    page.open("serverless", path="notebooks/classic.ipynb")
    page.run_cell(1)  # %who: IPython loads
    done = page.run_cell(page.add_cell("%who\n%memory"))
    text = done["text"]
    assert not [o for o in done["outputs"] if o["output_type"] == "error"], done["outputs"]
    assert "budget" in text and "Interactive namespace is empty." in text, text


def editor_text(page, index):
    time.sleep(0.3)  # CodeMirror accepts a completion only once its popup is 75 ms old
    return page.driver.execute_script(
        "return window.bento.notebook.cells[arguments[0]].source", index
    )


def wait_text(page, index, text):
    wait_for(lambda: editor_text(page, index) == text, 10, repr(text),
             lambda: repr(editor_text(page, index)))  # fmt: skip


def wait_for_popup(page, what):
    wait_for(
        lambda: page.driver.execute_script(
            "return [...document.querySelectorAll('.cm-tooltip-autocomplete li')]"
            ".map((li) => li.innerText.split('\\n')[0])"
        ),
        120,
        what,
        page.problems,
    )
    return page.driver.execute_script(
        "return [...document.querySelectorAll('.cm-tooltip-autocomplete li')]"
        ".map((li) => li.innerText.split('\\n')[0])"
    )


@pytest.mark.parametrize("kernel", ["serverless", "server"])
def test_tab_completes_shift_tab_explains_shift_enter_continues(page, kernel):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page.open(kernel, path="notebooks/classic.ipynb")
    page.run_cell(page.add_cell("import collections\nvalue_one = 1\nvalue_two = 2"))
    index = page.add_cell("")
    editor = page.driver.find_elements("css selector", ".cell .cm-content")[index]
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", editor)
    editor.click()

    editor.send_keys("x = value_", Keys.TAB)
    assert wait_for_popup(page, "completions of value_") == ["value_one", "value_two"]
    editor.send_keys(Keys.TAB)  # accepts the selected (first) completion
    wait_text(page, index, "x = value_one")

    editor.send_keys(Keys.ENTER, "collections.Ordered", Keys.TAB)
    assert wait_for_popup(page, "completions of collections.Ordered") == ["OrderedDict"]
    editor.send_keys(Keys.TAB)
    wait_text(page, index, "x = value_one\ncollections.OrderedDict")

    editor.send_keys(Keys.ENTER, "len(")
    ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    wait_for(
        lambda: page.driver.execute_script(
            "const t = document.querySelector('.cm-tooltip.cm-inspect'); return t && t.innerText"
        ),
        120,
        "the help tooltip",
        page.problems,
    )
    help_text = page.driver.execute_script(
        "return document.querySelector('.cm-tooltip.cm-inspect').innerText"
    )
    assert "Signature: len(obj, /)" in help_text, help_text
    assert "Return the number of items in a container." in help_text
    page.screenshot(f"classic-help-{kernel}.png")
    editor.send_keys(Keys.ESCAPE)
    assert not page.driver.find_elements("css selector", ".cm-tooltip.cm-inspect")

    # Shift+Enter on an unfinished block adds an indented line; on a finished one it runs.
    page.driver.execute_script("window.bento.notebook.cells[arguments[0]].source = ''", index)
    editor.click()
    editor.send_keys("for i in range(3):")
    ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(
        Keys.SHIFT
    ).perform()
    wait_for(lambda: editor_text(page, index) == "for i in range(3):\n    ", 30,
             "the indented line", lambda: repr(editor_text(page, index)))  # fmt: skip
    assert page.cells()[index]["prompt"] == "[ ]:", "the unfinished cell did not run"
    editor.send_keys("print(i * 10)")
    ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(
        Keys.SHIFT
    ).perform()
    wait_for(lambda: page.cells()[index]["text"] == "0\n10\n20\n", 60, "the cell's output",
             lambda: repr(page.cells()[index]))  # fmt: skip


def answer_prompt(page, index, text):
    """Wait for the cell's input box, type ``text`` and Enter; returns the box's type."""
    from selenium.webdriver.common.keys import Keys

    wait_for(
        lambda: page.driver.find_elements("css selector", ".cell .stdin-field"),
        120,
        "the input() prompt",
        page.problems,
    )
    [field] = page.driver.find_elements("css selector", ".cell .stdin-field")
    kind = field.get_attribute("type")
    cell = page.driver.find_elements("css selector", ".cell")[index]
    assert field in cell.find_elements("css selector", ".stdin-field"), "in the cell's output"
    field.send_keys(text, Keys.ENTER)
    return kind


@pytest.mark.parametrize("kernel", ["serverless", "server"])
def test_input_and_getpass_wait_for_the_user_and_interrupt_stops_them(page, kernel):
    page.open(kernel, path="notebooks/classic.ipynb")
    index = page.add_cell(
        "name = input('Your name? ')\nprint('hello', name)\n"
        "from getpass import getpass\nsecret = getpass('Token: ')\nlen(secret)"
    )
    page.queue(index)
    assert answer_prompt(page, index, "Ada") == "text"
    assert answer_prompt(page, index, "s3cret!") == "password"
    page.wait_done(120)
    done = page.cells()[index]
    lines = [line for line in done["text"].splitlines() if line.strip()]
    assert lines == ["Your name? Ada", "hello Ada", "Token: ········", "7"], done["text"]
    assert [o["output_type"] for o in done["outputs"]] == ["stream", "execute_result"]
    page.screenshot(f"classic-input-{kernel}.png")

    waiting = page.add_cell("answer = input('Waiting: ')")
    page.queue(waiting)
    wait_for(lambda: page.driver.find_elements("css selector", ".cell .stdin-field"), 120,
             "the second prompt", page.problems)  # fmt: skip
    page.click("interrupt")
    page.wait_done(60)
    done = page.cells()[waiting]
    [error] = [o for o in done["outputs"] if o["output_type"] == "error"]
    assert error["ename"] == "KeyboardInterrupt", error
    assert not page.driver.find_elements("css selector", ".cell .stdin-field"), "box removed"
    after = page.run_cell(page.add_cell("name"))
    assert after["text"].strip() == "'Ada'", "the kernel goes on with its namespace"


@pytest.mark.parametrize("kernel", ["serverless", "server"])
def test_output_after_an_answered_prompt_comes_below_it(page, kernel):
    """Print, input(), print: the second print is not merged into the first above the prompt."""
    page.open(kernel, path="notebooks/classic.ipynb")
    index = page.add_cell("print('a')\nx = input('x? ')\nprint('b', x)")
    page.queue(index)
    answer_prompt(page, index, "1")
    page.wait_done(120)
    done = page.cells()[index]
    lines = [line for line in done["text"].splitlines() if line.strip()]
    assert lines == ["a", "x? 1", "b 1"], done["text"]


def test_output_that_arrives_after_its_prompt_is_shown_above_it(page):
    """A server kernel's print() before input() comes on IOPub, the prompt on the stdin
    channel, and the server may pass them on in either order (the full run saw it). Here
    stream messages are held back 400 ms so the prompt always comes first: the output still
    shows above the waiting box, as it was printed."""
    page.open("server", path="notebooks/classic.ipynb")
    page.driver.execute_script(
        """const notebook = window.bento.notebook, deliver = notebook.onMessage.bind(notebook);
        notebook.onMessage = (cell, msg) => {
          if (msg.type === "stream") setTimeout(() => deliver(cell, msg), 400);
          else deliver(cell, msg);
        };"""
    )
    index = page.add_cell("print('before')\nname = input('Name? ')\nprint('after', name)")
    page.queue(index)
    wait_for(lambda: "before" in page.cells()[index]["text"], 120, "the late output", page.problems)
    answer_prompt(page, index, "Ada")
    page.wait_done(120)
    wait_for(lambda: "after Ada" in page.cells()[index]["text"], 10, "the last output",
             page.problems)  # fmt: skip
    done = page.cells()[index]
    lines = [line for line in done["text"].splitlines() if line.strip()]
    assert lines == ["before", "Name? Ada", "after Ada"], done["text"]


def test_an_answer_that_does_not_reach_the_kernel_asks_again(page):
    """When sending the answer fails (without isolation it is a POST to the server), the
    prompt comes back saying why, and the next answer still reaches the waiting input()."""
    page.open("serverless", path="notebooks/classic.ipynb")
    page.driver.execute_script(
        """const kernel = window.bento.kernel, send = kernel.sendInput.bind(kernel);
        kernel.sendInput = (value) => {
          kernel.sendInput = send;  // fails once, as a server that is away would
          return Promise.reject(new Error('HTTP 503 from the bento server'));
        };"""
    )
    index = page.add_cell("word = input('Word? ')\nprint('got', word)")
    page.queue(index)
    answer_prompt(page, index, "lost")
    wait_for(lambda: page.driver.find_elements("css selector", ".cell .stdin-error"), 30,
             "the note that the answer was lost", page.problems)  # fmt: skip
    [note] = page.driver.find_elements("css selector", ".cell .stdin-error")
    assert "HTTP 503 from the bento server" in note.text and "type it again" in note.text
    assert answer_prompt(page, index, "kept") == "text"
    page.wait_done(60)
    assert "got kept" in page.cells()[index]["text"], page.cells()[index]
