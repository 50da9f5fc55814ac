"""HTML forms to the wire format and back: dotted field names, flat error lists.

Form fields are named like the API's JSON with dots for nesting (``basis.authority``, as
in the exchange CSV), so a form is validated by the same marshmallow schema as the API and
its errors come back under the names of the fields that caused them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import marshmallow as ma
from flask import request

from trading.errors import ServiceError


def nest(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``{"basis.authority": "x"}`` to ``{"basis": {"authority": "x"}}``; empty values dropped.

    An empty text box means "not given", as an absent JSON key does, so optional fields
    take the schema's default and required ones are reported missing.
    """
    nested: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        if isinstance(value, str):
            value = value.strip()
        parts = name.split(".")
        target = nested
        for part in parts[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = target[part] = {}
            target = existing
        target[parts[-1]] = value
    return nested


def form_fields(exclude: Iterable[str] = ("csrf_token",)) -> dict[str, str]:
    """The posted form, one value per name, without the CSRF field."""
    skip = set(exclude)
    return {k: v for k, v in request.form.items() if k not in skip}


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested errors (or a service's) as ``{"basis.authority": [..]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for inner, messages in flatten_errors(value, name).items():
                flat.setdefault(inner, []).extend(messages)
    elif isinstance(errors, list | tuple):
        for item in errors:
            if isinstance(item, Mapping | list | tuple):
                for inner, messages in flatten_errors(item, prefix).items():
                    flat.setdefault(inner, []).extend(messages)
            else:
                flat.setdefault(prefix or "_schema", []).append(str(item))
    elif errors is not None:
        flat.setdefault(prefix or "_schema", []).append(str(errors))
    return flat


def as_messages(value: Any) -> list[str]:
    """Whatever an error entry holds, as a list of sentences (for templates)."""
    return [message for messages in flatten_errors(value).values() for message in messages]


def page_number(name: str = "page") -> int:
    """``?page=`` as a number from 1, whatever was typed in the address bar."""
    try:
        value = int(request.args.get(name, "1"))
    except ValueError:
        return 1
    return max(1, min(value, 1_000_000))


def query_args(schema: ma.Schema) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``request.args`` loaded by the API's own query schema, leaving out what is invalid.

    A filter typed wrong in the address bar is dropped and reported beside the form; the
    page still answers with the filters that are valid.
    """
    raw = {k: v for k, v in request.args.items() if v.strip() != "" and k != "lang"}
    errors: dict[str, list[str]] = {}
    for _ in range(len(raw) + 1):
        try:
            return schema.load(raw, unknown=ma.EXCLUDE), errors
        except ma.ValidationError as error:
            bad = flatten_errors(error.messages)
            errors.update(bad)
            dropped = {name.split(".")[0] for name in bad} & set(raw)
            if not dropped:
                break
            for name in dropped:
                raw.pop(name)
    return schema.load({}, unknown=ma.EXCLUDE), errors


def with_offset(fields: dict[str, Any], names: Iterable[str], hours: float) -> dict[str, Any]:
    """Give ``datetime-local`` values (wall-clock time in China) their UTC offset.

    A browser sends ``2025-06-01T09:30`` without a zone; the API would read that as UTC.
    """
    sign = "+" if hours >= 0 else "-"
    whole = abs(hours)
    suffix = f"{sign}{int(whole):02d}:{int(round((whole % 1) * 60)):02d}"
    shifted = dict(fields)
    for name in names:
        value = shifted.get(name)
        if isinstance(value, str) and value.strip() and "T" in value:
            value = value.strip()
            has_zone = value.endswith("Z") or "+" in value[10:] or "-" in value[10:]
            if not has_zone:
                shifted[name] = (value if value.count(":") >= 2 else value + ":00") + suffix
    return shifted


def refusal(error: ServiceError) -> dict[str, list[str]]:
    """A service's refusal for a form: its message, the rule that refused, each field's why."""
    messages = flatten_errors(error.errors)
    # Eligibility answers carry their reasons twice (as sentences and as objects); the
    # sentences under the field are enough on a page.
    messages = {k: v for k, v in messages.items() if not k.startswith("eligibility.")}
    messages["_message"] = [error.message]
    if error.rule:
        messages["_rule"] = [error.rule]
    return messages
