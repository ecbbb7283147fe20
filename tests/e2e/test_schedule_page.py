"""The Schedule… dialog and the Runs pane in headless Chromium, on a real bento server: the
dialog is prefilled from the notebook, previews the generated DAG, runs the notebook once
(Run now: a real headless run through the server) and saves the DAG through the contents API;
the Runs pane lists the records and opens one read-only, scrolled to the failing cell.
Screenshots go to artifacts/."""

from __future__ import annotations

import datetime
import json

import pytest

from tests.helpers import BentoServer, NotebookPage, chromium, notebook, wait_for

pytestmark = pytest.mark.browser

CELLS = [
    ('day = "2026-01-01"\nlimit = 3\n', ["parameters"]),
    (
        "%%sql -o top\nSELECT count(*) AS n FROM orders WHERE ordered_at < CAST(:day AS TIMESTAMP)",
        [],
    ),
    *[(f"step_{i} = {i}", []) for i in range(12)],  # the failing cell is far down the page
    ('print("orders", int(top.n[0]))\nassert limit > 0, "limit must be positive"', []),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    (root / "reports").mkdir()
    notebook(*CELLS, path=root / "reports" / "daily.ipynb")
    mp = pytest.MonkeyPatch()
    mp.setenv("BENTO_CONNECTIONS", json.dumps({"default": f"duckdb://{root.parent / 'w.duckdb'}"}))
    try:
        with BentoServer(root_dir=root) as running:
            yield running
    finally:
        mp.undo()


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def click(driver, element_id):
    driver.find_element("id", element_id).click()


def test_schedule_dialog_run_now_save_and_the_runs_pane(server):
    with chromium() as driver:
        page = NotebookPage(driver, server)
        page.open(kernel="none", path="reports/daily.ipynb")
        click(driver, "schedule")
        rows = "return [...document.querySelectorAll('.schedule-parameter')].map((r) => [r.querySelector('.parameter-name').value, r.querySelector('.parameter-value').value])"  # noqa: E501
        wait_for(lambda: js(driver, rows), 60, "the prefilled parameters", page.problems)
        assert js(driver, rows) == [["day", "2026-01-01"], ["limit", "3"]]
        assert js(driver, "return document.getElementById('schedule-output').value") == (
            "reports/runs"
        )
        assert "bento://default/orders" in js(
            driver, "return document.getElementById('schedule-inputs').textContent"
        )

        # Choices: the day from Airflow's context, an owner; preview the DAG.
        js(driver, "document.querySelectorAll('.parameter-value')[0].value = '{{ ds }}'")
        driver.find_element("id", "schedule-owner").send_keys("ana@example.com")
        click(driver, "schedule-preview-button")
        preview = "return document.getElementById('schedule-preview').textContent"
        wait_for(lambda: "BentoOperator(" in js(driver, preview), 60, "the preview")
        source = js(driver, preview)
        assert "    'day': '{{ ds }}',\n    'limit': 3,\n" in source
        assert "SCHEDULE = '0 6 * * *'" in source and "OWNER = 'ana@example.com'" in source
        page.screenshot("schedule-preview.png")

        # When its inputs update: the schedule lists the tables the notebook reads.
        js(driver, "document.querySelector('input[value=assets]').click()")
        click(driver, "schedule-preview-button")
        wait_for(lambda: "Asset(uri='bento://default/orders')" in js(driver, preview), 60, "assets")

        # Save through the contents API: the file on disk is the previewed one.
        click(driver, "schedule-save")
        status = "return document.getElementById('schedule-status').textContent"
        wait_for(lambda: js(driver, status).startswith("Saved dags/bento_daily.py"), 60, "save")
        assert (server.root_dir / "dags" / "bento_daily.py").read_text() == js(driver, preview)

        # Run now, with a limit the notebook refuses: the run fails, its record is linked.
        js(driver, "document.querySelectorAll('.parameter-value')[1].value = '-1'")
        click(driver, "schedule-run")
        wait_for(lambda: "failed" in js(driver, status), 300, "Run now", page.problems)
        assert "AssertionError: limit must be positive" in js(driver, status)
        record = driver.find_element("css selector", "#schedule-record a").text
        assert record.startswith("reports/runs/daily-manual__")
        page.screenshot("schedule-run-now.png")
        click(driver, "schedule-close")

        # The Runs pane: the failed run, its parameters and failing cell.
        click(driver, "runs")
        items = "return [...document.querySelectorAll('#runs-list li')].map((li) => li.innerText)"
        wait_for(lambda: js(driver, items), 60, "the runs list")
        [item] = js(driver, items)
        assert item.startswith("failed · ") and "limit=-1" in item
        # ``{{ ds }}`` was rendered as Airflow renders it for a manual run today.
        assert f"day={datetime.datetime.now(datetime.UTC).date().isoformat()}" in item
        assert 'print("orders", int(top.n[0])) → AssertionError: limit must be positive' in item
        page.screenshot("runs-pane.png")

        # Open the record: read-only, no kernel, a banner naming the run, the failing cell shown.
        href = driver.find_element("css selector", "#runs-list li a").get_attribute("href")
        driver.get(href)
        wait_for(lambda: js(driver, "return window.bento && window.bento.ready"), 60, "record")
        banner = js(driver, "return document.getElementById('banner').textContent")
        assert banner.startswith(f"Run record {record} (read-only, no kernel): failed")
        assert js(driver, "return window.bento.kernel") is None
        failing = driver.find_element("css selector", ".cell.failing")
        assert "assert limit > 0" in failing.text
        assert "AssertionError" in failing.text
        in_view = js(
            driver,
            "const r = arguments[0].getBoundingClientRect();"
            "return r.top >= 0 && r.top < window.innerHeight;",
            failing,
        )
        assert in_view
        editable = js(
            driver,
            "return [...document.querySelectorAll('.cm-content')].map((c) => c.contentEditable)",
        )
        assert set(editable) == {"false"}
        page.screenshot("run-record.png")
