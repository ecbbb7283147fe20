"""The page's Server kernel works in the notebook's folder, as JupyterLab's does.

The page opens notebooks/sub/foo.ipynb with the Server kernel: ``%%writefile x.txt`` lands
next to the notebook (not in the server's root), ``os.getcwd()`` is that folder, and the kernel
is a session of the sessions API for that path. Switching the kernel away deletes the session;
a reloaded page gets a kernel of its own that lives.
"""

import json
import urllib.request

import nbformat
import pytest

from tests.helpers import BentoServer, NotebookPage, chromium, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("cwd-root")
    (root / "notebooks" / "sub").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), root / "notebooks" / "sub" / "foo.ipynb")
    with BentoServer(root_dir=root) as server, chromium() as driver:
        page = NotebookPage(driver, server)
        page.root = root
        yield page


def sessions(page):
    request = urllib.request.Request(
        page.server.url + "/api/sessions", headers={"Authorization": f"token {page.server.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_writefile_lands_next_to_the_notebook(page):
    page.open("server", path="notebooks/sub/foo.ipynb")
    done = page.run_cell(page.add_cell("%%writefile x.txt\nnext to the notebook"))
    assert "Writing x.txt" in done["text"], done
    assert (page.root / "notebooks" / "sub" / "x.txt").read_text() == "next to the notebook\n"
    assert not (page.root / "x.txt").exists(), "not in the server's root"
    cwd = page.run_cell(page.add_cell("import os\nos.getcwd()"))["text"]
    assert cwd.strip().strip("'") == str(page.root / "notebooks" / "sub"), cwd
    [session] = sessions(page)
    # The notebook's path, with the page's own suffix (each page has its own kernel).
    assert session["path"].startswith("notebooks/sub/foo.ipynb#bento-"), session
    assert (session["name"], session["type"]) == ("foo.ipynb", "notebook")
    assert session["kernel"]["id"] == page.driver.execute_script(
        "return window.bento.kernel.kernel.id"
    )
    # Reloaded: the old page's session goes while unloading; the new page's kernel lives on.
    page.open("server", path="notebooks/sub/foo.ipynb")
    wait_for(lambda: len(sessions(page)) == 1, 30, "the old session to be deleted", page.problems)
    again = page.run_cell(
        page.add_cell("import os, time\ntime.sleep(2)\nos.path.basename(os.getcwd())")
    )
    assert again["text"].strip() == "'sub'", again
    page.choose_kernel("none")
    wait_for(lambda: sessions(page) == [], 30, "the session to be deleted", page.problems)
