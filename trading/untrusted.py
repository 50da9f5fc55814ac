"""What every request is held to before a schema or a rule sees it.

JSON bodies are parsed once, here (flask-smorest's parser is :class:`JsonParser`): a
document nested deeper than :data:`MAX_DEPTH` levels is refused (twenty thousand levels
exhaust the parser's stack; a few hundred still cost every reader of the value), and so is
text, keys included, with a NUL character (PostgreSQL text cannot hold one; SQLite keeps it
and every C reader cuts the value short there) or a lone surrogate (``"\\ud800"`` is valid
JSON but no Unicode: it can be neither stored nor answered). Paths, query strings and forms
are held to the same rule on NUL (a URL cannot carry a surrogate).

Refusals: 400 ``request.json_depth`` for depth, 422 ``request.text`` for text, naming the
field (``basis.authority``, ``subjects.3``, ``query.q``, ``path``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Request, current_app, request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from trading.errors import Invalid, ServiceError

#: Deeper than any body of the API (a draw request is four levels deep).
MAX_DEPTH = 32

NUL = "must not contain a NUL character"
_SURROGATE = "must be valid Unicode text (a lone surrogate is not)"
# Only an escape can put a NUL or a surrogate into JSON text decoded from UTF-8.
_SUSPECT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
SUSPECT_BYTES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class TooDeep(ServiceError):
    code = 400


def _too_deep() -> TooDeep:
    return TooDeep(
        f"The JSON body is nested deeper than {MAX_DEPTH} levels.",
        errors={"_body": [f"must be nested at most {MAX_DEPTH} levels deep"]},
        rule="request.json_depth",
    )


def text_error(text: str) -> str | None:
    """Why ``text`` cannot be taken, or None."""
    if "\x00" in text:
        return NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE
    return None


def checked_json(data: bytes | str) -> Any:
    """``data`` parsed as JSON and held to the rules above (:func:`json.loads`' errors
    for what is not JSON)."""
    try:
        value = core.parse_json(data) if isinstance(data, bytes) else json.loads(data)
    except RecursionError:
        raise _too_deep() from None
    suspect = (_SUSPECT if isinstance(data, str) else SUSPECT_BYTES).search(data)
    errors = problems(value, check_text=suspect is not None)
    if errors:
        raise Invalid(errors, "Text in the body is not acceptable.", rule="request.text")
    return value


def problems(value: Any, *, check_text: bool) -> dict[str, list[str]]:
    """Depth of every container (iteratively: the value may be as deep as the parser
    went; :class:`TooDeep` past :data:`MAX_DEPTH`), and, when the text may hold one, every
    NUL or lone surrogate with its path."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[Any, tuple, int]] = [(value, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            if depth >= MAX_DEPTH:
                raise _too_deep()
            for key, item in node.items():
                if check_text and (message := text_error(key)):
                    errors.setdefault(".".join(map(str, path)) or "_body", []).append(
                        f"keys {message}"
                    )
                stack.append((item, (*path, key), depth + 1))
        elif isinstance(node, list):
            if depth >= MAX_DEPTH:
                raise _too_deep()
            stack.extend((item, (*path, n), depth + 1) for n, item in enumerate(node))
        elif check_text and isinstance(node, str) and (message := text_error(node)):
            errors.setdefault(".".join(map(str, path)) or "_body", []).append(message)
    return errors


class JsonParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with :func:`checked_json`."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return checked_json(req.get_data(cache=True))


def accepts_upload(func: Callable) -> Callable:
    """Let a view take a file up to ``MAX_UPLOAD_LENGTH`` instead of the few MiB of
    ``MAX_CONTENT_LENGTH`` every other body is held to. Place it directly under the route,
    above anything that reads the body (tokens, CSRF, ``Idempotency-Key``)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = current_app.config["MAX_UPLOAD_LENGTH"]
        return func(*args, **kwargs)

    return wrapper


def _refuse_nul() -> None:
    environ = request.environ
    if "\x00" in request.path:
        raise Invalid({"path": [NUL]}, "The path is not acceptable.", rule="request.text")
    if b"%00" in environ.get("QUERY_STRING", "").encode("latin-1"):
        fields = [k for k, v in request.args.items(multi=True) if "\x00" in k or "\x00" in v]
        raise Invalid(
            {f"query.{k}": [NUL] for k in fields} or {"query": [NUL]},
            "The query string is not acceptable.",
            rule="request.text",
        )
    # Multipart forms carry uploads, parsed only by the view that takes them.
    if request.mimetype == "application/x-www-form-urlencoded":
        fields = [k for k, v in request.form.items(multi=True) if "\x00" in k or "\x00" in v]
        if fields:
            raise Invalid(
                {f"form.{k}": [NUL] for k in fields},
                "The form is not acceptable.",
                rule="request.text",
            )


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
