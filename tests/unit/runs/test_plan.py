"""Planning a run: tables read (sqlglot), uploads, and refusals that name the cell."""

import pytest

from bento_wasm.data.parsing import parameter_values, parse_sql
from bento_wasm.errors import RunRefused
from bento_wasm.runs import plan_run
from bento_wasm.runs.plan import plan, request_key, sql_tables
from tests.helpers import notebook

PARAMS = ("country = 'DE'\nlimit = 10\nstamp = str(1)", ["parameters"])


def test_sql_tables_come_from_the_parser_not_from_the_text():
    sql = """
        WITH recent AS (SELECT * FROM sales.orders WHERE note = 'FROM fake_table')
        SELECT c.name, p.price FROM recent r
        JOIN customers c ON c.id = r.customer_id
        JOIN (SELECT * FROM products) p ON p.id = r.product_id  -- FROM commented_out
        WHERE c.country = $1
    """
    assert sorted(sql_tables(sql)) == ["customers", "products", "sales.orders"]
    assert sql_tables("SELECT 1") == ()


def test_the_plan_lists_inputs_outputs_and_fetches_with_parameters_bound():
    nb = notebook(
        PARAMS,
        "%%sql -o top\nSELECT * FROM orders o JOIN customers c USING (customer_id)\n"
        "WHERE c.country = :country LIMIT :limit",
        "%%sql -c pg -o more\nSELECT * FROM public.events",
        "%%graphql --endpoint http://gql.test/graphql -o g --path items\n{ items { id } }",
        "%googlesheet 1PublicSheetAbcdefghijklmnopqrstuvwxyz012 -o s",
        "%dataframe top --table results -c pg --mode replace",
        "%%dataframe more --table archive.events",
    )
    found = plan(nb, {"limit": 5})
    assert found.refusals == ()
    assert found.inputs == [
        ("default", "orders"),
        ("default", "customers"),
        ("pg", "public.events"),
    ]
    assert found.outputs == [("pg", "results"), ("default", "archive.events")]
    sql = found.fetches[0]
    assert sql.request["params"] == ["DE", 5]
    assert ":country" not in sql.request["sql"] and "$1" in sql.request["sql"]
    assert [f.kind for f in found.fetches] == ["sql", "sql", "graphql", "sheet"]
    assert [f.cell_index for f in found.fetches] == [1, 2, 3, 4]


def test_the_sandbox_computes_the_same_key_from_the_namespace():
    nb = notebook(PARAMS, "%%sql -o top\nSELECT * FROM t WHERE c = :country LIMIT :limit")
    fetch = plan(nb, {"country": "FR"}).fetches[0]
    cell = parse_sql("-o top", "SELECT * FROM t WHERE c = :country LIMIT :limit")
    namespace = {"country": "FR", "limit": 10}
    request = {
        "connection": cell.connection,
        "sql": cell.sql,
        "params": parameter_values(cell.names, namespace),
        "limit": cell.limit,
    }
    assert request_key("sql", request) == fetch.key
    namespace["limit"] = 11
    request["params"] = parameter_values(cell.names, namespace)
    assert request_key("sql", request) != fetch.key


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("%%sql\nSELECT * FROM t WHERE d > :cutoff", "computed by cell 2.*make cutoff a parameter"),
        ("%%sql\nSELECT * FROM t WHERE d > :nowhere", ":nowhere, which is not a parameter"),
        ("%%sql\nSELECT * FROM t WHERE d > :stamp", "default in the parameters cell is computed"),
        ("%%remote\nimport torch", "needs the executor"),
        ("from bento_wasm import remote\n@remote\ndef f():\n    return 1", "needs the executor"),
        ("%%sql --limit -1\nSELECT 1", "cannot be planned: %%sql: --limit must be 0 or more"),
    ],
)
def test_cells_that_cannot_run_unattended_are_refused_naming_the_cell(cell, why):
    nb = notebook(PARAMS, "cutoff = country.lower()", cell)
    refusals = plan(nb, {}).refusals
    assert len(refusals) == 1
    refused = refusals[0]
    assert isinstance(refused, RunRefused)
    assert refused.cell_index == 2
    first = cell.splitlines()[0]
    assert refused.message.startswith(f"cell 3 ({first!r})")
    assert refused.cell_first_line == first
    import re

    assert re.search(why, refused.message), refused.message


def test_a_parameter_rebound_by_an_earlier_cell_is_refused():
    nb = notebook(PARAMS, "limit = limit * 2", "%%sql\nSELECT * FROM t LIMIT :limit")
    (refused,) = plan(nb, {}).refusals
    assert "computed by cell 2" in refused.message


def test_plan_run_reads_the_file(tmp_path):
    path = tmp_path / "n.ipynb"
    notebook(PARAMS, "%%sql\nSELECT * FROM a.b", "%dataframe x --table c", path=path)
    found = plan_run(path)
    assert (found.inputs, found.outputs) == ([("default", "a.b")], [("default", "c")])
