"""Log formatting: JSON lines carry the fields; secret-looking fields are masked."""

from __future__ import annotations

import json
import logging

from venn.logs import JsonFormatter, TextFormatter


def _record(**extra):
    record = logging.LogRecord("venn.http", logging.INFO, __file__, 1, "GET %s %s", ("/x", 200), None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_extra_fields_and_mask_secrets():
    line = JsonFormatter().format(_record(request_id="r1", user_id=7, access_token="abc", password="pw"))
    data = json.loads(line)
    assert data["msg"] == "GET /x 200" and data["level"] == "info" and data["logger"] == "venn.http"
    assert data["request_id"] == "r1" and data["user_id"] == 7
    assert data["access_token"] == "***" and data["password"] == "***"


def test_text_lines_are_readable():
    line = TextFormatter().format(_record(request_id="r1", secret_key="s3cr3t"))
    assert "INFO" in line and "GET /x 200" in line and "request_id=r1" in line
    assert "s3cr3t" not in line
