"""History export round trip (json, jsonl, csv), history queries, verify, the planner."""

from __future__ import annotations

import csv
import io
import json

import pytest

import cc_executor


@pytest.fixture
def two_executions(config: cc_executor.Config) -> list:
    a = cc_executor.execute("@fake success text=one")
    b = cc_executor.execute("@fake api_error")
    return [a.execution_id, b.execution_id]


def test_export_json_round_trip(two_executions: list) -> None:
    records = json.loads(cc_executor.export_execution_history("json"))
    assert [r["execution_id"] for r in records] == two_executions  # oldest first
    assert records[0]["task"] == "@fake success text=one"
    assert records[0]["result"]["result"] == "one"


def test_export_jsonl_round_trip(two_executions: list) -> None:
    text = cc_executor.export_execution_history("jsonl")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [r["execution_id"] for r in lines] == two_executions
    assert json.loads(cc_executor.export_execution_history("json")) == lines


def test_export_csv_round_trip(two_executions: list) -> None:
    rows = list(csv.DictReader(io.StringIO(cc_executor.export_execution_history("csv"))))
    assert [r["execution_id"] for r in rows] == two_executions
    assert [r["status"] for r in rows] == ["succeeded", "api_error"]
    assert rows[0]["task"] == "@fake success text=one"


def test_export_filters(two_executions: list) -> None:
    only = json.loads(cc_executor.export_execution_history("json", status="api_error"))
    assert [r["execution_id"] for r in only] == two_executions[1:]
    newest = json.loads(cc_executor.export_execution_history("json", limit=1))
    assert [r["execution_id"] for r in newest] == two_executions[1:]
    assert json.loads(cc_executor.export_execution_history("json", since="1h")) != []


def test_history_and_stats(two_executions: list) -> None:
    h = cc_executor.get_execution_history()
    assert [e["execution_id"] for e in h["executions"]] == two_executions[::-1]  # newest first
    assert h["stats"]["overall"]["count"] == 2
    assert h["store"] == "sqlite"
    assert "stats" not in cc_executor.get_execution_history(include_stats=False)
    assert cc_executor.get_execution_history(search="text=one")["executions"][0]["execution_id"] == two_executions[0]


def test_verify(two_executions: list) -> None:
    one = cc_executor.verify_execution(two_executions[0])
    assert one["executions"][0]["execution_id"] == two_executions[0]
    assert one["verdict"] in ("verified", "unverified")
    assert len(cc_executor.verify_execution(last_n=2)["executions"]) == 2
    assert "markdown" in cc_executor.verify_execution(markdown=True)


def test_planner(config: cc_executor.Config) -> None:
    c = cc_executor.get_task_complexity("Refactor the parser module and add tests")
    assert c["recommended_method"] in ("cc_execute", "direct")
    v = cc_executor.validate_task_list([{"id": "a", "task": "x", "depends_on": ["b"]}, {"id": "b", "task": "y", "depends_on": ["a"]}])
    assert v["valid"] is False and v["errors"]
    s = cc_executor.suggest_execution_strategy(["write the code", "test the code"])
    assert s["waves"] and s["markdown"]
