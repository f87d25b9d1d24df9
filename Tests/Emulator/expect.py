"""Assertions on the two error-body families (docs/protocol.md §1), shared by the tests."""

import re
import uuid

CORRELATED = re.compile(r"^\[([A-Za-z0-9-]+)\] ")


def _uuid(value):
    return str(uuid.UUID(value)) == value


def iam_error(resp, status, code=None):
    """{"id": uuid, "error": code, "error_description": "[<correlation id>] text"}"""
    assert resp.status == status, resp
    body = resp.json()
    assert set(body) == {"id", "error", "error_description"}, body
    assert _uuid(body["id"]), body
    assert CORRELATED.match(body["error_description"]), body
    if code is not None:
        assert body["error"] == code, body
    return body


def management_error(resp, status):
    """{"id": uuid, "message": text}"""
    assert resp.status == status, resp
    body = resp.json()
    assert set(body) == {"id", "message"}, body
    assert _uuid(body["id"]) and body["message"], body
    return body
