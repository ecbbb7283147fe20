"""The data magics' pure core: option parsing, query parameters, answers -> rows or errors."""

import datetime
import json

import pytest

from bento_wasm.data.answers import graphql_rows, sheet_csv
from bento_wasm.data.parsing import (
    bind_parameters,
    parse_dataframe,
    parse_graphql,
    parse_sheet,
    parse_sql,
)
from bento_wasm.data.requests import Executor
from bento_wasm.errors import BentoError, DataSourceError, ExecutorError, MagicError, WarehouseError

EXECUTOR = Executor("http://127.0.0.1:9", "tok")


def test_named_parameters_become_positional_and_values_never_enter_the_sql():
    sql, names = bind_parameters(
        "select :a, :b::int, ':a' as s, \"x:a\" -- :c\n/* :d */ from t where x = :a and y = \\:z"
    )
    assert names == ("a", "b")
    assert sql == (
        "select $1, $2::int, ':a' as s, \"x:a\" -- :c\n/* :d */ from t where x = $1 and y = :z"
    )
    cell = parse_sql("-o out --limit 5", "select * from t where name = :who")
    request = cell.request(EXECUTOR, {"who": "x'; drop table t; --"})
    payload = json.loads(request.body)
    assert payload == {
        "connection": "default",
        "sql": "select * from t where name = $1",
        "params": ["x'; drop table t; --"],
        "limit": 5,
    }
    assert request.headers["Authorization"] == "token tok"
    assert request.url == "http://127.0.0.1:9/bento/api/sql"


def test_parameter_values_are_json_scalars_or_a_clear_error():
    cell = parse_sql("", "select :d, :n, :f")
    payload = json.loads(
        cell.request(EXECUTOR, {"d": datetime.date(2024, 1, 2), "n": None, "f": 1.5}).body
    )
    assert payload["params"] == ["2024-01-02", None, 1.5]
    with pytest.raises(MagicError, match="no Python variable 'missing'"):
        parse_sql("", "select :missing").request(EXECUTOR, {})
    with pytest.raises(MagicError, match="only single values"):
        parse_sql("", "select :xs").request(EXECUTOR, {"xs": [1, 2]})


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("--nope", "select 1", "unrecognized arguments: --nope"),
        ("--limit x", "select 1", "invalid int value"),
        ("--limit -1", "select 1", "--limit must be 0 or more"),
        ("-o 1x", "select 1", "not a Python variable name"),
        ("", "  \n", "the cell has no query"),
    ],
)
def test_sql_options_errors(line, body, message):
    with pytest.raises(MagicError, match=message):
        parse_sql(line, body)


def test_dataframe_options():
    cell = parse_dataframe("df --table main.sales -c pg --mode append", "")
    assert (cell.name, cell.table, cell.connection, cell.mode) == (
        "df",
        "main.sales",
        "pg",
        "append",
    )
    request = cell.request(EXECUTOR, b"ARROW")
    assert request.method == "POST" and request.body == b"ARROW"
    assert request.url.endswith("/bento/api/uploads?table=main.sales&connection=pg&mode=append")
    with pytest.raises(MagicError, match="invalid choice: 'merge'"):
        parse_dataframe("df --table t --mode merge", "")
    with pytest.raises(MagicError, match="required: --table"):
        parse_dataframe("df", "")
    with pytest.raises(MagicError, match="not a table name"):
        parse_dataframe("df --table 't; drop'", "")
    with pytest.raises(MagicError, match="body must be empty"):
        parse_dataframe("df --table t", "x = 1")


def test_graphql_options_and_variables():
    cell = parse_graphql(
        "--endpoint http://127.0.0.1:1/graphql -o out --path a.b --var n=3 --var s=x",
        "query ($n: Int) { a { b { x } } }",
    )
    assert cell.path == ("a", "b") and cell.variables == {"n": 3, "s": "x"}
    body = json.loads(cell.request().body)
    assert body["variables"] == {"n": 3, "s": "x"} and body["query"].startswith("query")
    with pytest.raises(MagicError, match="no endpoint"):
        parse_graphql("", "{ a }")
    assert parse_graphql("", "{ a }", "http://127.0.0.1:1/g").endpoint == "http://127.0.0.1:1/g"
    with pytest.raises(MagicError, match="not key=value"):
        parse_graphql("--endpoint e --var nokey", "{ a }")


def test_graphql_rows_flatten_the_list_at_path():
    answer = {
        "data": {"shop": {"orders": [{"id": 1, "buyer": {"name": "a"}}, {"id": 2, "buyer": None}]}}
    }
    rows = graphql_rows(answer, ("shop", "orders"), "u")
    assert rows == [{"id": 1, "buyer.name": "a"}, {"id": 2, "buyer": None}]
    assert graphql_rows({"data": {"xs": [1, 2]}}, (), "u") == [{"value": 1}, {"value": 2}]
    with pytest.raises(DataSourceError, match="reported errors: Cannot query field 'nope'"):
        graphql_rows({"errors": [{"message": "Cannot query field 'nope'"}], "data": None}, (), "u")
    with pytest.raises(MagicError, match="no field 'x' at shop; fields there: orders"):
        graphql_rows(answer, ("shop", "x"), "u")
    with pytest.raises(MagicError, match="say which with --path"):
        graphql_rows({"data": {"a": [], "b": []}}, (), "u")


def test_sheet_url_or_id_and_export_url():
    sheet_id = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    cell = parse_sheet(f"https://docs.google.com/spreadsheets/d/{sheet_id}/edit#gid=42 -o s", "")
    assert (cell.sheet_id, cell.gid, cell.output) == (sheet_id, "42", "s")
    assert cell.request("").url == (
        f"https://docs.google.com/spreadsheets/d/{sheet_id}/export?format=csv&gid=42"
    )
    assert parse_sheet(f"{sheet_id} --sheet 7", "").request("http://127.0.0.1:5/").url == (
        f"http://127.0.0.1:5/spreadsheets/d/{sheet_id}/export?format=csv&gid=7"
    )
    with pytest.raises(MagicError, match="neither a sheet URL nor a sheet id"):
        parse_sheet("'not a sheet'", "")


def test_sheet_answers():
    assert sheet_csv(200, "text/csv; charset=utf-8", b"a,b\n1,2\n", "u") == b"a,b\n1,2\n"
    with pytest.raises(DataSourceError, match="private"):
        sheet_csv(200, "text/html; charset=utf-8", b"<!DOCTYPE html><title>Sign in</title>", "u")
    with pytest.raises(DataSourceError, match="private"):
        sheet_csv(401, "text/html", b"<html>", "u")
    with pytest.raises(DataSourceError, match="not CSV"):
        sheet_csv(200, "application/json", b"{}", "u")


def test_executor_settings_and_refusals():
    assert Executor.from_settings({"executor": {"url": "http://h:1/", "token": "t"}}, {}) == (
        Executor("http://h:1", "t")
    )
    env = {"BENTO_EXECUTOR_URL": "http://e:2", "BENTO_EXECUTOR_TOKEN": "x"}
    assert Executor.from_settings({}, env) == Executor("http://e:2", "x")
    with pytest.raises(ExecutorError, match="no executor configured"):
        Executor.from_settings({}, {})
    refused = EXECUTOR.refused(403, "u", b"{}", "application/json")
    assert isinstance(refused, ExecutorError) and "refused the token" in str(refused)
    body = json.dumps({"error": WarehouseError("Catalog Error: nope", connection="c").to_dict()})
    error = EXECUTOR.refused(400, "u", body.encode(), "application/json")
    assert isinstance(error, WarehouseError) and error.connection == "c"
    assert isinstance(EXECUTOR.refused(500, "u", b"boom", "text/plain"), BentoError)
