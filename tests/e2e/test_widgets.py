"""End to end: ipywidgets in both kernels of the page, in headless Chromium.

A slider renders live; moving it with the keyboard (as a person would: focus its handle,
press the arrow keys) changes the value the kernel sees; ``@interact`` with a slider redraws
a matplotlib figure inside its Output widget; Save writes the widget state into the notebook
(nbformat's ``widgets`` metadata, as JupyterLab writes it), and the notebook opened again with
no kernel shows the saved views. Serverless (Pyodide: ipywidgets and comm from the runtime's
extra wheels, offline) and Server (ipykernel). Screenshots go to artifacts/.
"""

import json

import nbformat
import pytest

from tests.helpers import BentoServer, NotebookPage, chromium, wait_for

pytestmark = pytest.mark.browser

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SLIDER = (
    "import ipywidgets as widgets\n"
    "slider = widgets.IntSlider(value=3, min=0, max=10, description='level')\n"
    "slider"
)
VALUE = "print('value', slider.value)"
INTERACT = """\
import matplotlib.pyplot as plt
from ipywidgets import interact

@interact(bars=(1, 8))
def draw(bars=2):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(range(bars), range(1, bars + 1))
    ax.set_title(f'{bars} bars')
    plt.show()
    print(f'drew {bars} bars')
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("widgets")
    (folder / "notebooks").mkdir()
    return folder


@pytest.fixture(scope="module")
def page(root):
    with BentoServer(root_dir=root) as server, chromium() as driver:
        driver.set_window_size(1200, 1000)
        yield NotebookPage(driver, server)


def write_notebook(root, name):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(s) for s in (SLIDER, VALUE, INTERACT)]
    nbformat.write(notebook, root / "notebooks" / name)
    return f"notebooks/{name}"


def in_cell(page, index, selector):
    return page.driver.execute_script(
        "const c = window.bento.notebook.cells[arguments[0]].node;"
        "return [...c.querySelectorAll(arguments[1])];",
        index,
        selector,
    )


def wait_widget(page, index, selector, what, timeout_s=60):
    wait_for(lambda: in_cell(page, index, selector), timeout_s, what, page.problems)
    return in_cell(page, index, selector)


def press(page, handle, key, times):
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", handle)
    handle.click()
    for _ in range(times):
        handle.send_keys(key)


def output_text(page, index):
    return "".join(e.text for e in in_cell(page, index, ".widget-output"))


def image_of(page, index):
    images = in_cell(page, index, ".widget-output img")
    return images[0].get_attribute("src") if images else ""


@pytest.mark.parametrize("kernel", ["serverless", "server"])
def test_slider_interact_and_saved_state(page, root, kernel):
    from selenium.webdriver.common.keys import Keys

    path = write_notebook(root, f"widgets-{kernel}.ipynb")
    page.open(kernel, path=path)

    # A slider renders live, from the kernel's comm.
    page.run_cell(0, timeout_s=180)
    [handle] = wait_widget(page, 0, ".widget-slider .noUi-handle", "the slider's handle")
    page.screenshot(f"widgets-{kernel}-slider.png")

    # Moving it changes the kernel-side value.
    press(page, handle, Keys.ARROW_RIGHT, 2)
    readout = in_cell(page, 0, ".widget-readout")[0]
    wait_for(lambda: readout.text == "5", 10, "the readout at 5", page.problems)
    wait_for(lambda: "value 5" in page.run_cell(1)["text"], 30, "the kernel to see 5",
             lambda: page.cells()[1]["text"])  # fmt: skip

    # @interact redraws the matplotlib figure in its Output widget when its slider moves.
    page.run_cell(2, timeout_s=180)
    wait_widget(page, 2, ".widget-output img", "the interact figure", 120)
    first = image_of(page, 2)
    assert first.startswith("data:image/png;base64,"), first[:80]
    outputs = page.cells()[2]["outputs"]
    assert not [o for o in outputs if "image/png" in o.get("data", {})], "it belongs in the widget"
    assert [o for o in outputs if WIDGET_VIEW in o.get("data", {})], outputs
    [bars] = wait_widget(page, 2, ".widget-slider .noUi-handle", "the interact slider")
    press(page, bars, Keys.ARROW_RIGHT, 3)
    wait_for(lambda: "drew 5 bars" in output_text(page, 2), 120, "the redraw with 5 bars",
             page.problems)  # fmt: skip
    assert image_of(page, 2) not in ("", first)
    assert "drew 2 bars" not in output_text(page, 2), "clear_output(wait=True) cleared it"
    page.screenshot(f"widgets-{kernel}-interact.png")

    # Save: the widget state is in the file, as JupyterLab writes it.
    page.click("save")
    wait_for(lambda: "Saved" in page.banner(), 30, "the save", page.problems)
    saved = json.loads((root / path).read_text())
    state = saved["metadata"]["widgets"][WIDGET_STATE]
    assert (state["version_major"], state["version_minor"]) == (2, 0)
    models = state["state"]
    sliders = {
        model["state"].get("description"): model["state"]["value"]
        for model in models.values()
        if model["model_name"] == "IntSliderModel"
    }
    assert sliders == {"level": 5, "bars": 5}, sliders
    outputs = [m for m in models.values() if m["model_name"] == "OutputModel"]
    shown = [o for m in outputs for o in m["state"].get("outputs", [])]
    [figure] = [o for o in shown if "image/png" in o.get("data", {})]
    assert [o["text"] for o in shown if o["output_type"] == "stream"] == ["drew 5 bars\n"], shown
    view = saved["cells"][0]["outputs"][0]["data"][WIDGET_VIEW]
    assert view["model_id"] in models

    # Reopened, with no kernel at all and with a fresh kernel (no live widgets either way):
    # the saved views show (the slider at 5, the last figure).
    for reopened in ("none", kernel):
        page.open(reopened, path=path)
        wait_widget(page, 0, ".widget-slider .noUi-handle", f"the saved slider ({reopened})")
        wait_for(lambda: in_cell(page, 0, ".widget-readout")[0].text == "5", 20, "saved value")
        wait_widget(page, 2, ".widget-output img", f"the saved figure ({reopened})")
        saved_png = "".join(figure["data"]["image/png"])
        assert image_of(page, 2) == "data:image/png;base64," + saved_png
        page.screenshot(f"widgets-{kernel}-reopened-{reopened}.png")
