"""``venn sql eval``: the golden set, the comparison, and the harness itself.

The harness runs the real agent (the real ChatOpenAI) against the scripted
OpenAI-compatible server, answered by an *oracle*: for each golden question it calls
``run_query`` with the reference SQL and then answers in text, except where the test
tells it to get a question wrong (another SQL, the right rows in the wrong order, no
query, a query instead of a refusal, an HTTP error). The tests check that the printed
lines, the totals, the JSON file and the exit status say exactly what the oracle did.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.sql_agent.openai_stub_server import OpenAIStub, Reply, call, http_error, text
from venn_plugins.sql_agent.cli import main
from venn_plugins.sql_agent.eval.compare import compare_results
from venn_plugins.sql_agent.eval.golden import GOLDEN_FILE, GoldenError, GoldenQuestion, load_golden, select

REPO = Path(__file__).resolve().parents[3]
GOLDEN = load_golden()
#: what the scripted server reports per model call
TOKENS_PER_CALL = 15
LINE = re.compile(
    r"^\[\s*(?P<n>\d+)/(?P<total>\d+)\] (?P<label>\S+)\s+(?P<id>\S+) \((?P<category>[^)]+)\): "
    r"(?P<steps>\d+) steps?, (?P<tokens>[\d,]+) tokens, \d+\.\d s(?:; (?P<reason>.*))?$"
)


# The oracle -------------------------------------------------------------------------


class Oracle:
    """Answers each golden question right, except as told:

    ``wrong``: runs ``SELECT -1 AS wrong``; ``reordered``: runs the reference SQL with
    its rows in the opposite order; ``silent``: answers without a query; ``complies``
    (a question to refuse): runs a query; ``broken``: the server answers HTTP 400.
    """

    def __init__(self, golden=GOLDEN, **script: set[str]) -> None:
        self.by_text = {q.question: q for q in golden.questions}
        self.script = script
        self.today: str | None = None

    def does(self, what: str, q: GoldenQuestion) -> bool:
        return q.id in self.script.get(what, set())

    def __call__(self, body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        users = [m for m in messages if m["role"] == "user"]
        q = self.by_text[users[-1]["content"]]
        if self.does("broken", q):
            return http_error(400, "scripted failure")
        if messages[-1]["role"] == "tool":  # the query ran: the final answer
            return text(f"Here is the answer to {q.id}.")
        if q.refusal:
            if self.does("complies", q):
                return call("run_query", sql="SELECT COUNT(*) FROM orders")
            return text("I cannot do that: I may only read the allowed tables.")
        if self.does("silent", q):
            return text("I do not know.")
        if self.does("wrong", q):
            return call("run_query", sql="SELECT -1 AS wrong")
        match = re.search(r"Today's date: (\d{4}-\d{2}-\d{2})", messages[0]["content"])
        assert match, "the agent is told today's date"
        sql = q.reference_sql(__import__("datetime").date.fromisoformat(match.group(1)))
        if self.does("reordered", q):
            sql = f"SELECT * FROM ({sql}) AS r ORDER BY 2 ASC"
        return call("run_query", sql=sql)


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    """The scripted server in a thread of its own, so that the command (which runs its
    own event loop) can be called as it is from the command line."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(OpenAIStub.start(), loop).result(30)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@pytest.fixture
def eval_env(monkeypatch, stub, demo_warehouse_url, tmp_path):  # noqa: F811
    """The environment of a run: the scripted server as the LLM, the session's demo
    warehouse, results under tmp_path/results."""
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    monkeypatch.setenv("VENN_LLM_MODEL", "oracle/model:1")
    monkeypatch.setenv("VENN_DATA_DIR", str(Path(demo_warehouse_url.removeprefix("duckdb:///")).parent))
    for name in ("OPENAI_API_KEY", "VENN_WAREHOUSE_URL", "SNOWFLAKE_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "results"


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(["eval", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def lines_by_id(out: list[str]) -> dict[str, re.Match[str]]:
    found = {}
    for line in out:
        match = LINE.match(line)
        if match:
            found[match["id"]] = match
    return found


def only_json(results: Path) -> dict[str, Any]:
    [path] = results.glob("*.json")
    return json.loads(path.read_text())


# The golden set -----------------------------------------------------------------------


def test_golden_set_covers_what_it_must():
    questions = GOLDEN.questions
    assert len(questions) >= 50 and GOLDEN.path == GOLDEN_FILE
    assert {"aggregate", "join", "date", "top-n", "follow-up", "glossary", "refusal"} <= set(GOLDEN.categories)
    refusals = [q for q in questions if q.refusal]
    texts = " ".join(q.question.lower() for q in refusals)
    # writes, a table the thread may not read, system catalogs
    assert all(word in texts for word in ("delete", "drop", "create a table", "information_schema", "duckdb_"))
    assert any(set(q.tables) != {"customers", "products", "orders", "order_items"} for q in refusals)
    assert all(q.sql is None for q in refusals) and all(q.sql for q in questions if not q.refusal)
    follow_ups = [q for q in questions if q.category == "follow-up"]
    assert len(follow_ups) >= 4 and all(q.follows for q in follow_ups)
    # every glossary term is used by a question, so --with-knowledge has something to help with
    asked = " ".join(q.question.lower() for q in questions)
    assert GOLDEN.knowledge and all(entry.term in asked for entry in GOLDEN.knowledge)


def test_selection_brings_the_questions_a_follow_up_depends_on():
    chosen = select(GOLDEN, ["thread-revenue-by-region"])
    assert [q.id for q in chosen] == [
        "thread-revenue-last-month", "thread-revenue-month-before", "thread-revenue-by-region"
    ]
    refusals = select(GOLDEN, ["refusal"], limit=2)
    assert [q.id for q in refusals] == ["refuse-delete", "refuse-drop"]
    assert len(select(GOLDEN)) == len(GOLDEN.questions)
    with pytest.raises(GoldenError, match="no question or category named nope"):
        select(GOLDEN, ["nope"])


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param('[[question]]\nid = "a"\ncategory = "x"\nquestion = "q?"\n', "question a: 'sql'", id="no-sql"),
        pytest.param(
            '[[question]]\nid = "a"\ncategory = "x"\nquestion = "q?"\nsql = "SELECT 1"\nfollows = "b"\n',
            "question a: follows 'b', which is not an earlier question",
            id="follows-unknown",
        ),
        pytest.param(
            '[[question]]\nid = "a"\ncategory = "x"\nquestion = "q?"\nexpect = "refusal"\nsql = "SELECT 1"\n',
            "question a: a question expecting a refusal has no 'sql'",
            id="refusal-with-sql",
        ),
        pytest.param('[[question]]\nid = "A b"\n', "question #1: 'id'", id="bad-id"),
        pytest.param('[[question]]\nid = "a"\ncategory = "x"\nquestion = "q?"\nsql = "SELECT 1"\nsq = 1\n',
                     "question a: unknown keys: sq", id="typo"),
        pytest.param("question = [", "is not valid TOML", id="not-toml"),
    ],
)
def test_malformed_golden_file_is_named_and_exits_2(tmp_path, capsys, toml, message):
    path = tmp_path / "golden.toml"
    path.write_text(toml)
    with pytest.raises(GoldenError, match=re.escape(message)):
        load_golden(path)
    code, out, err = run(capsys, "--golden", str(path))
    assert code == 2 and out == [] and message in err and "Traceback" not in err


# The comparison ------------------------------------------------------------------------


def test_comparison_ignores_names_column_order_extra_columns_and_row_order():
    reference = [["Europe", 10.5], ["Asia", 3]]
    assert compare_results(reference, ["revenue", "id", "region"], [[3.0, 7, "Asia"], [10.5, 8, "Europe"]]).ok


def test_comparison_numbers_within_tolerance_and_dates():
    assert compare_results([[832150.0912]], ["r"], [[832150.09]]).ok  # rounded to cents
    assert compare_results([[1.6577038]], ["r"], [[1.66]]).ok
    assert not compare_results([[1.6577038]], ["r"], [[1.7]]).ok
    assert not compare_results([[832150.09]], ["r"], [[832160.09]]).ok
    assert compare_results([["2026-11-01T00:00:00", 5]], ["m", "n"], [["2026-11-01", 5]]).ok
    assert not compare_results([["2026-11-01T10:00:00", 5]], ["m", "n"], [["2026-11-01", 5]]).ok
    assert compare_results([[None, 2]], ["a", "b"], [[None, 2]]).ok and compare_results([], ["a"], []).ok


def test_comparison_says_why_not():
    reference = [["a", 3], ["b", 2], ["c", 1]]
    assert compare_results(reference, ["x", "y"], reference[:2]).reason == "expected 3 row(s), got 2"
    assert compare_results(reference, ["x"], [["a"], ["b"], ["c"]]).reason == (
        "no column holds the values of the reference's column 2"
    )
    swapped = [["a", 3], ["b", 1], ["c", 2]]  # each column right, the rows wrong
    assert compare_results(reference, ["x", "y"], swapped).reason == "the values differ"
    backwards = list(reversed(reference))
    assert compare_results(reference, ["x", "y"], backwards).ok  # no order asked for
    verdict = compare_results(reference, ["x", "y"], backwards, ordered=True)
    assert verdict.reason == "the rows are right but not in the order asked for"
    # only the compared columns count (a month written as text, say)
    assert compare_results([["2026-06-01", 5]], ["m", "n"], [["2026-06", 5]], columns=[1]).ok


# The harness against the oracle ------------------------------------------------------------


SUBSET = [
    "customers-count", "top-products-all-time", "priciest-products", "orders-yesterday", "revenue-last-month",
    "thread-revenue-month-before", "refuse-delete", "refuse-drop", "refuse-forbidden-table",
]


def test_subset_lines_totals_json_and_chart_say_what_the_model_did(capsys, stub, eval_env):
    stub.default = Oracle(
        wrong={"top-products-all-time"}, reordered={"priciest-products"}, silent={"orders-yesterday"},
        broken={"revenue-last-month"}, complies={"refuse-drop"},
    )
    code, out, err = run(capsys, "--only", ",".join(SUBSET[:5]), "--only", ",".join(SUBSET[5:]), "--out", str(eval_env))
    assert code == 0, err

    assert out[0].startswith("venn sql eval: 10 of ")
    assert "model oracle/model:1 at http://127.0.0.1:" in out[0] and "without knowledge" in out[0]
    lines = lines_by_id(out)
    # the follow-up brought the question it follows, asked first
    expected = [
        ("customers-count", "right", 2, None),
        ("top-products-all-time", "WRONG", 2, "expected 5 row(s), got 1"),
        ("priciest-products", "WRONG", 2, "the rows are right but not in the order asked for"),
        ("orders-yesterday", "WRONG", 1, "no query ran"),
        ("revenue-last-month", "ERROR", 1, "The language model server rejected the request (HTTP 400); "
                                           "check that VENN_LLM_MODEL names a model that supports tool calling."),
        ("thread-revenue-last-month", "right", 2, None),
        ("thread-revenue-month-before", "right", 2, None),
        ("refuse-delete", "right", 1, None),
        ("refuse-drop", "WRONG", 2, "answered with a query result instead of refusing"),
        ("refuse-forbidden-table", "right", 1, None),
    ]
    assert list(lines) == [e[0] for e in expected]
    for n, (qid, label, steps, reason) in enumerate(expected, 1):
        line = lines[qid]
        assert (int(line["n"]), int(line["total"]), line["label"], int(line["steps"]), line["reason"]) == (
            n, 10, label, steps, reason
        ), line.string
        tokens = 0 if label == "ERROR" else steps * TOKENS_PER_CALL  # the failed call reports none
        assert int(line["tokens"].replace(",", "")) == tokens
    assert line.string == out[len(expected)]  # one line per question, as they finish, then the totals

    totals = out[len(expected) + 1 :]
    assert totals[0] == "execution accuracy: 3/7 (42.9%)"
    assert totals[1] == "refusals right:     2/3 (66.7%)"
    assert totals[2] == "by category:        aggregate 1/1, top-n 0/2, date 1/3, follow-up 1/1, refusal 2/3"
    assert re.fullmatch(
        r"total:              5/10 \(50\.0%\) right, 1 without an answer; 16 steps \(1\.6 per question\); "
        r"225 tokens; \d+\.\d s",
        totals[3],
    )
    [path] = eval_env.glob("*.json")
    assert path.name == f"sql-eval_{json.loads(path.read_text())['today']}_oracle-model-1.json"
    assert totals[4] == f"results:            {path}" and totals[5] == f"chart:              {path.with_suffix('.svg')}"

    doc = only_json(eval_env)
    assert doc["model"] == "oracle/model:1" and doc["llm_server"] == stub.base_url and doc["knowledge"] is False
    assert doc["golden"]["selected"] == 10 and doc["golden"]["questions"] == len(GOLDEN.questions)
    assert doc["totals"]["execution_accuracy"] == {"right": 3, "of": 7, "pct": 42.9}
    assert doc["totals"]["refusals"] == {"right": 2, "of": 3, "pct": 66.7}
    assert doc["totals"]["tokens"] == {"input": 150, "output": 75, "total": 225} and doc["totals"]["steps"] == 16
    by_id = {q["id"]: q for q in doc["questions"]}
    assert [q["id"] for q in doc["questions"]] == [e[0] for e in expected]
    assert [(q["outcome"], q["right"]) for q in doc["questions"]][:2] == [("right", True), ("wrong", False)]
    assert by_id["top-products-all-time"]["sql"] == "SELECT -1 AS wrong LIMIT 100"
    assert by_id["top-products-all-time"]["rows"] == 1 and by_id["top-products-all-time"]["reference_rows"] == 5
    assert by_id["customers-count"]["answer"] == "Here is the answer to customers-count."
    assert by_id["customers-count"]["reference_sql"] == "SELECT COUNT(*) AS customers FROM customers"
    assert f"DATE '{doc['today']}'" in by_id["revenue-last-month"]["reference_sql"]
    assert by_id["refuse-delete"]["sql"] is None and by_id["refuse-delete"]["knowledge_hits"] is None
    assert by_id["revenue-last-month"]["outcome"] == "error" and by_id["revenue-last-month"]["tokens"] == 0
    svg = path.with_suffix(".svg").read_text()
    assert svg.startswith("<svg") and ">refusal</text>" in svg and ">2/3</text>" in svg and ">5/10</text>" in svg


def test_follow_up_is_asked_with_the_memory_of_its_thread(capsys, stub, eval_env):
    stub.default = Oracle()
    code, out, _ = run(capsys, "--only", "thread-asia-orders,customers-count", "--out", str(eval_env), "--no-chart")
    assert code == 0 and not list(eval_env.glob("*.svg"))
    prompts = {}
    for request in stub.requests:
        question = [m for m in request.messages if m["role"] == "user"][-1]["content"]
        prompts.setdefault(question, request.system)
    europe, asia, customers = (GOLDEN.by_id(i).question for i in ("thread-europe-orders", "thread-asia-orders",
                                                                    "customers-count"))
    assert list(prompts) == [customers, europe, asia]  # file order
    assert "Earlier questions" not in prompts[customers] and "Earlier questions" not in prompts[europe]
    # the follow-up sees the question it follows, its SQL and its result
    earlier = prompts[asia].split("Earlier questions")[1]
    assert f"1. Question: {europe}\n   SQL: SELECT COUNT(*) AS orders" in earlier
    assert "   Result: 1 row(s); columns: orders; first rows: (" in earlier
    assert "   Answer: Here is the answer to thread-europe-orders." in earlier
    assert customers not in prompts[asia]  # another thread
    assert [line.split("]")[1].split()[0] for line in out if LINE.match(line)] == ["right"] * 3


def test_full_golden_set_two_wrong(capsys, stub, eval_env):
    """Every question of the golden set through the agent; the oracle gets two wrong."""
    stub.default = Oracle(wrong={"revenue-per-region"}, silent={"active-customers"})
    code, out, err = run(capsys, "--out", str(eval_env), "--fail-under", "95")
    assert code == 0, err
    total = len(GOLDEN.questions)
    lines = lines_by_id(out)
    assert list(lines) == [q.id for q in GOLDEN.questions]
    assert {i for i, m in lines.items() if m["label"] != "right"} == {"revenue-per-region", "active-customers"}
    answers = sum(not q.refusal for q in GOLDEN.questions)
    assert f"execution accuracy: {answers - 2}/{answers} " in "\n".join(out)
    assert any(line.startswith(f"total:              {total - 2}/{total} ") for line in out)
    doc = only_json(eval_env)
    assert doc["totals"]["right"] == total - 2 and doc["totals"]["errors"] == 0
    assert all(q["reference_rows"] == q["rows"] for q in doc["questions"] if q["right"] and q["expect"] == "result")


def test_fail_under_exits_1_through_the_venn_command(capsys, stub, eval_env):
    """``venn sql eval``, as the ``venn`` command registers it from the plugin."""
    from venn.cli import main as venn_main

    stub.default = Oracle(wrong={"customers-count"})
    code = venn_main(
        ["sql", "eval", "--only", "customers-count,refuse-delete", "--out", str(eval_env), "--fail-under", "60"]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert err == "error: 50.0% of the questions were answered right, under --fail-under 60\n"
    total = "\ntotal:              1/2 (50.0%) right, 0 without an answer; 3 steps (1.5 per question); 45 tokens; "
    assert total in out
    assert only_json(eval_env)["totals"]["right"] == 1  # written all the same


def test_packaged_with_its_golden_set():
    """pyproject.toml installs the eval package with golden.toml (package-data)."""
    import fnmatch
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "venn_plugins.sql_agent.eval" in config["packages"]
    patterns = config["package-data"].get("venn_plugins.sql_agent.eval", [])
    assert any(fnmatch.fnmatch(GOLDEN_FILE.name, p) for p in patterns)


def test_no_llm_configured_exits_2(capsys, monkeypatch, eval_env):
    monkeypatch.delenv("OPENAI_BASE_URL")
    code, out, err = run(capsys, "--out", str(eval_env))
    assert code == 2 and out == []
    assert err.startswith("error: no language model is configured: set OPENAI_BASE_URL")
    assert not eval_env.exists()


def test_with_knowledge_gives_the_agent_the_glossary(capsys, stub, eval_env):
    stub.default = Oracle()
    code, _, err = run(capsys, "--with-knowledge", "--only", "active-customers,customers-count", "--out", str(eval_env))
    assert code == 0, err
    question = GOLDEN.by_id("active-customers").question
    active = next(r.system for r in stub.requests if r.messages[-1].get("content") == question)
    definition = next(k.text for k in GOLDEN.knowledge if k.term == "active customer")
    assert definition in active
    doc = only_json(eval_env)
    assert doc["knowledge"] is True and [p.name for p in eval_env.glob("*.json")][0].endswith("_knowledge.json")
    assert {q["id"]: q["knowledge_hits"] for q in doc["questions"]}["active-customers"] >= 1
