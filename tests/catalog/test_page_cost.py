"""What the product page costs the database does not grow with the size of its editions: once
its read model is kept for the generation, one query (one row per edition run, its free
numbers) and no ORM object."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.catalog.models import Overlay, ProductImage
from app.extensions import db
from tests.factories import make_product

# The product page's budget with its read model kept: the runs' free numbers, nothing else.
MAX_QUERIES = 1
MAX_ROWS = 16
MAX_OBJECTS = 0


@dataclass
class Cost:
    queries: int = 0
    rows: int = 0
    objects: Counter[str] = field(default_factory=Counter)


@contextmanager
def measured(app: Flask) -> Iterator[Cost]:
    """Count statements sent, rows the ORM receives and objects it loads while the block runs."""
    cost = Cost()
    with app.app_context():
        engine = db.engine

    def on_statement(*args: object) -> None:
        cost.queries += 1

    def on_orm_execute(state: ORMExecuteState):
        if not state.is_select:
            return None
        frozen = state.invoke_statement().freeze()
        cost.rows += len(frozen.data)
        return frozen()

    def on_load(session: Session, instance: object) -> None:
        cost.objects[type(instance).__name__] += 1

    hooks = [
        (engine, "before_cursor_execute", on_statement),
        (Session, "do_orm_execute", on_orm_execute),
        (Session, "loaded_as_persistent", on_load),
    ]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield cost
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)


def _studio_piece(slug: str, edition_size: int) -> None:
    metals = ("yellow-gold", "silver")
    product = make_product(slug, metals=metals, edition_size=edition_size, sold=3)
    for position, metal in enumerate(product.metals):
        db.session.add(
            ProductImage(product=product, path=f"{slug}/{position}.webp", alt="", position=position)
        )
        db.session.add(Overlay(product=product, metal=metal, path=f"{slug}/o.png", spec={}))
    db.session.commit()


def test_product_page_cost_does_not_grow_with_edition_size(app, client):
    with app.app_context():
        _studio_piece("small-edition", 10)
        _studio_piece("large-edition", 50)
    costs = {}
    for slug in ("small-edition", "large-edition"):
        client.get(f"/shop/{slug}")  # warm: sizes, templates
        with measured(app) as cost:
            page = client.get(f"/shop/{slug}?size=M&metal=silver")
        assert page.status_code == 200
        costs[slug] = cost
    small, large = costs["small-edition"], costs["large-edition"]
    html = page.get_data(as_text=True)
    assert "Edition of 50 · 47 available" in html and "50/50" in html  # every free number shown
    assert (large.queries, large.rows, large.objects) == (small.queries, small.rows, small.objects)
    assert large.queries <= MAX_QUERIES, large
    assert large.rows <= MAX_ROWS, large
    assert sum(large.objects.values()) <= MAX_OBJECTS, large
    assert "Piece" not in large.objects
