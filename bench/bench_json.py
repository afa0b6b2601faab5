"""JSON on the REST path: a history page's body written (and a post's body read) with the
standard library and with orjson, in the same run.

The page is 50 message views in the shape Venn serves them (author, reactions, files,
mentions).
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.common import print_table, write_results


def _page() -> dict[str, Any]:
    """50 message views in the shape ``venn.services.views.message_view`` gives them."""
    now = datetime.now(UTC).isoformat()
    author = {"id": 7, "username": "alice", "display_name": "Alice Liddell", "is_bot": False}
    messages = [
        {
            "id": 1000 + i, "channel_id": 3, "thread_id": None, "author": author,
            "body": f"Message {i}: the quarterly numbers are in, see the **dashboard** and ping @bob 👍 " * 2,
            "kind": "user", "payload": None, "client_msg_id": f"c{i}", "created_at": now, "edited_at": None,
            "deleted": False, "reply_count": i % 3, "started_thread_id": None, "reply_to": None, "files": [],
            "mentions": [8], "reactions": [{"emoji": "👍", "name": "+1", "count": 2, "user_ids": [8, 9]}],
            "pinned": False, "pinned_at": None, "pinned_by": None,
        }
        for i in range(50)
    ]
    return {"messages": messages, "has_more": True}


def _time(fn, rounds: int, repeat: int) -> float:
    """Median over ``rounds`` of the mean µs of ``repeat`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        samples.append((time.perf_counter() - started) / repeat * 1e6)
    return statistics.median(samples)


def run(quick: bool = False, runs: int = 5) -> dict[str, Any]:
    page = _page()
    body = json.dumps(page).encode()
    repeat = 200 if quick else 2000
    rows = []
    for what, stdlib, fast in (
        ("write a 50-message page", lambda: json.dumps(page).encode(), lambda: orjson.dumps(page)),
        ("read it back", lambda: json.loads(body), lambda: orjson.loads(body)),
    ):
        slow_us, fast_us = _time(stdlib, runs, repeat), _time(fast, runs, repeat)
        rows.append({"what": what, "bytes": len(body), "json_us": slow_us, "orjson_us": fast_us,
                     "speedup": slow_us / fast_us})
    print_table(f"JSON: standard library against orjson (median of {runs} rounds of {repeat})", rows,
                ["what", "bytes", "json_us", "orjson_us", "speedup"])
    result = {"runs": runs, "repeat": repeat, "rows": rows}
    write_results("json", result)
    return result


if __name__ == "__main__":
    run()
