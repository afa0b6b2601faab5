"""The OpenAPI 3.1 document, generated from the route table (so it cannot drift)."""

from __future__ import annotations

import re
from typing import Any

from venn import __version__
from venn.api.routing import RouteSpec, page_schema

_TS = {"type": ["string", "null"], "format": "date-time"}
_ID = {"type": "integer", "minimum": 1}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                        },
                    },
                    "retry_after": {"type": "integer"},
                },
            }
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "display_name", "email", "role", "is_bot", "created_at"],
        "properties": {
            "id": _ID,
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "email": {"type": ["string", "null"], "description": "Only for oneself and admins."},
            "role": {"type": "string", "enum": ["admin", "member"]},
            "is_bot": {"type": "boolean"},
            "deactivated": {"type": "boolean", "description": "Deactivated by an admin: cannot log in."},
            "deactivated_at": {"type": ["string", "null"], "format": "date-time", "description": "Admins' view."},
            "created_at": _TS,
            "last_seen": _TS,
            "status": {"type": "string", "enum": ["online", "offline"]},
        },
    },
    "Author": {
        "type": "object",
        "required": ["id", "username", "display_name", "is_bot"],
        "properties": {
            "id": _ID,
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "is_bot": {"type": "boolean"},
            "deactivated": {"type": "boolean", "description": "Present (true) only when the account was deactivated."},
        },
    },
    "Channel": {
        "type": "object",
        "required": [
            "id", "name", "topic", "is_private", "kind", "archived", "created_at", "member_count", "unread_count",
            "mention_count",
        ],
        "properties": {
            "id": _ID,
            "name": {"type": "string", "description": "Not shown for direct conversations: show their members."},
            "topic": {"type": "string"},
            "is_private": {"type": "boolean"},
            "kind": {"type": "string", "enum": ["public", "private", "dm", "group_dm"]},
            "members": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Author"},
                "description": "Direct conversations only: the members other than the caller.",
            },
            "archived": {"type": "boolean"},
            "created_at": _TS,
            "member_count": {"type": "integer"},
            "unread_count": {"type": "integer"},
            "mention_count": {
                "type": "integer",
                "description": "Messages of the channel's stream after the read marker that mention the caller.",
            },
            "is_member": {"type": "boolean"},
        },
    },
    "Message": {
        "type": "object",
        "required": [
            "id", "channel_id", "thread_id", "author", "body", "kind", "payload", "client_msg_id",
            "created_at", "edited_at", "deleted", "reply_count", "reply_to", "reactions", "pinned",
            "files", "mentions",
        ],
        "properties": {
            "id": _ID,
            "channel_id": _ID,
            "thread_id": {"type": ["integer", "null"]},
            "author": {"$ref": "#/components/schemas/Author"},
            "body": {"type": "string"},
            "kind": {"type": "string", "enum": ["user", "bot", "system"]},
            "payload": {
                "type": ["object", "null"],
                "description": "A bot's structured data; payload.actions holds its buttons and selects "
                "(docs/api.md, Interactive messages).",
            },
            "client_msg_id": {"type": ["string", "null"]},
            "created_at": _TS,
            "edited_at": _TS,
            "deleted": {"type": "boolean"},
            "reply_count": {"type": "integer"},
            "started_thread_id": {"type": ["integer", "null"]},
            "reply_to": {
                "type": ["integer", "null"],
                "description": "The id of the message a bot's reply answers (its command or mention); null otherwise.",
            },
            "mentions": {
                "type": "array",
                "items": _ID,
                "description": "The users the message mentions (@username, @channel, @here) who can see it.",
            },
            "reactions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Reaction"},
                "description": "In the order first given; empty for a deleted message.",
            },
            "pinned": {"type": "boolean"},
            "pinned_at": _TS,
            "pinned_by": {"type": ["integer", "null"], "description": "Who pinned it (a user id)."},
            "files": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/File"},
                "description": "The attached files (empty once the message is deleted).",
            },
        },
    },
    "Reaction": {
        "type": "object",
        "required": ["emoji", "name", "count", "user_ids"],
        "properties": {
            "emoji": {"type": "string", "description": "The canonical (fully-qualified) emoji."},
            "name": {"type": "string", "description": "Its name, e.g. \"thumbs up\"."},
            "count": {"type": "integer", "minimum": 1},
            "user_ids": {"type": "array", "items": _ID},
        },
    },
    "File": {
        "type": "object",
        "required": ["id", "name", "size", "content_type", "url", "thumbnail_url"],
        "properties": {
            "id": _ID,
            "name": {"type": "string"},
            "size": {"type": "integer", "minimum": 1},
            "content_type": {"type": "string", "description": "Read from the file's bytes, not the client's claim."},
            "url": {"type": "string"},
            "thumbnail_url": {"type": ["string", "null"], "description": "Images only."},
            "width": {"type": ["integer", "null"]},
            "height": {"type": ["integer", "null"]},
        },
    },
    "Thread": {
        "type": "object",
        "required": ["id", "channel_id", "root_message_id", "title", "created_by", "created_at", "reply_count"],
        "properties": {
            "id": _ID,
            "channel_id": _ID,
            "root_message_id": _ID,
            "title": {"type": "string"},
            "created_by": {"type": ["integer", "null"]},
            "created_at": _TS,
            "reply_count": {"type": "integer"},
            "last_reply_at": _TS,
        },
    },
}


def _envelope(key: str, ref: str, many: bool = False) -> dict[str, Any]:
    item = {"$ref": f"#/components/schemas/{ref}"}
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": item} if many else item},
    }


SCHEMAS.update(
    {
        "UserEnvelope": _envelope("user", "User"),
        "UserList": _envelope("members", "User", many=True),
        "UserSearch": _envelope("users", "User", many=True),
        "ChannelEnvelope": _envelope("channel", "Channel"),
        "ChannelList": _envelope("channels", "Channel", many=True),
        "FileEnvelope": _envelope("file", "File"),
        "MessageEnvelope": _envelope("message", "Message"),
        "ActionAccepted": {
            "type": "object",
            "required": ["ok", "job_id"],
            "description": "The click was queued for the plugin's handler (it runs as a job; "
            "its changes to the message arrive as message_updated).",
            "properties": {
                "ok": {"type": "boolean"},
                "accepted": {"type": "boolean"},
                "job_id": {"type": "string"},
            },
        },
        "ThreadEnvelope": _envelope("thread", "Thread"),
        "PinList": _envelope("pins", "Message", many=True),
        "MessagePage": page_schema("messages", "Message"),
        "Session": {
            "type": "object",
            "required": ["access_token", "refresh_token", "token_type", "expires_in", "user"],
            "properties": {
                "access_token": {"type": "string"},
                "refresh_token": {"type": "string"},
                "token_type": {"type": "string", "enum": ["bearer"]},
                "expires_in": {"type": "integer"},
                "user": {"$ref": "#/components/schemas/User"},
            },
        },
        "ReadMarker": {
            "type": "object",
            "required": ["channel_id", "last_read_message_id", "unread_count"],
            "properties": {
                "channel_id": _ID,
                "last_read_message_id": {"type": ["integer", "null"]},
                "unread_count": {"type": "integer"},
                "mention_count": {"type": "integer"},
            },
        },
        "SearchPage": {
            "type": "object",
            "required": ["results", "next_cursor"],
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["message", "highlight"],
                        "properties": {
                            "message": {"$ref": "#/components/schemas/Message"},
                            "highlight": {
                                "type": "object",
                                "required": ["text", "ranges"],
                                "description": "The body, and where the query's words are in it: [start, end)"
                                " offsets in Unicode code points, sorted, not overlapping. Plain text, no markup.",
                                "properties": {
                                    "text": {"type": "string"},
                                    "ranges": {
                                        "type": "array",
                                        "items": {
                                            "type": "array",
                                            "items": {"type": "integer", "minimum": 0},
                                            "minItems": 2,
                                            "maxItems": 2,
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as cursor (with the same q and filters) for the next page; null: no more.",
                },
            },
        },
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
    }
)

_ERROR_TEXT = {
    400: "Malformed request (bad JSON)",
    401: "Missing, invalid, expired or revoked token",
    403: "Not allowed",
    404: "Not found (or not visible to the caller)",
    409: "Conflict",
    413: "Request body too large",
    422: "Invalid fields",
    429: "Rate limited (see Retry-After)",
    503: "Service unavailable",
}

def _path_params(path: str) -> tuple[str, list[dict[str, Any]]]:
    params = []

    def repl(match: re.Match[str]) -> str:
        # a segment with a pattern is documented as an id, as it always was (``{name:\d+}``);
        # one without is text (``{emoji}``)
        numeric = match.group(2) is not None
        schema = {"type": "integer", "minimum": 1} if numeric else {"type": "string", "minLength": 1, "maxLength": 64}
        params.append({"name": match.group(1), "in": "path", "required": True, "schema": schema})
        return "{" + match.group(1) + "}"

    return re.sub(r"\{(\w+)(?::([^}]*))?\}", repl, path), params


def _query_params(model) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k not in {"title"}}
        if "anyOf" in prop:
            prop = next((p for p in prop["anyOf"] if p.get("type") != "null"), prop)
        out.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return out


def build_openapi(routes: list[RouteSpec]) -> dict[str, Any]:
    """The document for ``routes``; every request and response shape is described."""
    paths: dict[str, Any] = {}
    components: dict[str, Any] = dict(SCHEMAS)
    for spec in routes:
        # each router's own response schemas (a plugin's routes bring theirs)
        components.update(spec.schemas)
    for spec in routes:
        path, params = _path_params(spec.path)
        op: dict[str, Any] = {
            "operationId": spec.handler.__name__,
            "summary": spec.summary,
            "tags": [spec.tag],
            "responses": {},
        }
        if spec.query is not None:
            params = params + _query_params(spec.query)
        if params:
            op["parameters"] = params
        if spec.body is not None:
            name = spec.body.__name__
            components[name] = spec.body.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(components[name].pop("$defs", {}))
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if spec.response:
            ok["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.response}"}}}
        op["responses"][str(spec.status)] = ok
        for status, text in spec.extra_statuses.items():
            op["responses"][str(status)] = {**ok, "description": text}
        errors = set(spec.errors)
        if spec.auth:
            errors.add(401)
            op["security"] = [{"bearer": []}]
        if spec.form is not None:
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": spec.form}}}
        if spec.body is not None or spec.form is not None:
            errors |= {400, 413, 422}
        if spec.query is not None:
            errors.add(422)
        for status in sorted(errors):
            op["responses"][str(status)] = {
                "description": _ERROR_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault(path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Venn API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
