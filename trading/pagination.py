"""Page-numbered lists: ``?page=&page_size=`` in, ``{items, page, page_size, total}`` out."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    page_size = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


_page_schemas: dict[type, type] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """A schema ``{items: [item], page, page_size, total}`` for one item schema."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(
            name,
            (ma.Schema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "page": ma.fields.Integer(required=True),
                "page_size": ma.fields.Integer(required=True),
                "total": ma.fields.Integer(required=True),
            },
        )
    return _page_schemas[item_schema]


def paginate(
    session: Session, stmt: Select, page: int, page_size: int, *, scalars: bool = True
) -> dict[str, Any]:
    page_size = min(page_size, current_app.config.get("PAGE_SIZE_MAX", 500))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    paged = stmt.limit(page_size).offset((page - 1) * page_size)
    rows = session.scalars(paged).all() if scalars else session.execute(paged).all()
    return {"items": list(rows), "page": page, "page_size": page_size, "total": total}
