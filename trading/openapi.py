"""OpenAPI annotations that cost nothing per request.

flask-smorest's ``blp.doc`` wraps the view in one more function for each use; on paths that
every request takes (auth) those layers add up. ``annotate`` writes the same manual doc on
the function itself.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any

import flask_smorest
from flask_smorest.utils import deepupdate

from trading.untrusted import JsonParser


class Blueprint(flask_smorest.Blueprint):
    """Every blueprint of the API: JSON bodies read by :class:`trading.untrusted.JsonParser`."""

    ARGUMENTS_PARSER = JsonParser()


def annotate(**doc: Any) -> Callable:
    """Like ``blp.doc(**doc)``, without wrapping the view."""

    def decorator(func: Callable) -> Callable:
        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        apidoc["manual_doc"] = deepupdate(deepcopy(apidoc.get("manual_doc", {})), doc)
        func._apidoc = apidoc
        return func

    return decorator


def error_responses(responses: dict[int, str]) -> dict[str, Any]:
    """Error answers (status → description) in the one error shape."""
    return {
        str(code): {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in responses.items()
    }


def annotate_response(blp: Any, status_code: int, schema: Any, **options: Any) -> Callable:
    """Like ``blp.response(status_code, schema, ...)`` for a view that builds its own
    ``Response`` in the documented shape: the same documentation, no wrapper that would
    serialise again. ``blp.response`` writes the entry, on a stand-in function."""

    def decorator(func: Callable) -> Callable:
        documented = blp.response(status_code, schema, **options)(lambda: None)._apidoc
        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        responses = apidoc.setdefault("response", {}).setdefault("responses", {})
        for status, docs in documented["response"]["responses"].items():
            responses.setdefault(status, []).extend(docs)
        apidoc.setdefault("success_status_codes", []).extend(documented["success_status_codes"])
        func._apidoc = apidoc
        return func

    return decorator
