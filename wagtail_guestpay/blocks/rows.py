"""``in_bulk()`` for the offers of a page's pay blocks and their payment systems, with what
Django does to each row done once per process (a page may hold dozens of pay blocks).

Measured (bench/results, offer page, 50 pay blocks against 50 text blocks): building the query
(the queryset, then its SQL) and turning the 50 offer rows into field values (the dates, the
price, the translation key: one converter call per column and row) and into models cost more
than the rest of the pay blocks together, and a page of text blocks pays none of it. So:

1. the SQL of "these N primary keys" is built by Django once per model, columns and N, then
   run again with other keys;
2. what a row becomes is remembered under the row itself, exactly as the database returned it:
   any change to an offer or a payment system, saved in any process, is another row, so what a
   page shows is never older than the page's own query. A row not met before is converted by
   Django's compiler of the same SQL, as Django's ModelIterable does;
3. each call gets instances of its own (a view or a preview may change them): a copy of the
   fields Django's ``from_db()`` set the first time (``from_db()`` itself where something listens
   to the model's init signals).
"""

import datetime
import decimal
import uuid

from django.db import connections, router
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

# What a remembered row's values may be: instances share them.
_UNCHANGING = (
    str,
    int,
    float,
    bytes,
    decimal.Decimal,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    type(None),
)
ROWS_SIZE = 4096  # rows remembered per process (then forgotten all at once)
_ROWS = {}  # (model, database, deferred fields) -> {row as read: (values, fields)}
_SQL = {}  # (model, database, deferred fields, number of keys) -> SQL, or "" (not reusable)


def by_pk(model, ids, defer=()):
    """``model._default_manager.defer(*defer).in_bulk(ids)``, one query per batch of keys the
    database allows."""
    db = router.db_for_read(model)
    ids = [value for value in dict.fromkeys(ids) if value is not None]
    size = connections[db].features.max_query_params or len(ids) or 1
    found = {}
    for start in range(0, len(ids), size):
        for obj in _load(model, db, tuple(defer), ids[start : start + size]):
            found[obj.pk] = obj
    return found


def _load(model, db, defer, ids):
    if not ids:
        return []
    params = _params(model, db, ids)
    compiler = None
    sql = _SQL.get((model, db, defer, len(ids)))
    if sql is None:
        compiler, sql = _compile(model, db, defer, ids, params)
    if not sql:
        return list(_queryset(model, db, defer, ids))
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = [tuple(row) for row in cursor.fetchall()]
    known = _ROWS.setdefault((model, db, defer), {})
    try:
        shapes = [known.get(row) for row in rows]
    except TypeError:  # a column the driver returns unhashable (none here): Django's way
        return list(_queryset(model, db, defer, ids))
    missing = [row for row, shape in zip(rows, shapes, strict=True) if shape is None]
    if missing:
        if compiler is None:
            compiler = _compile(model, db, defer, ids, params)[0]
        if sum(map(len, _ROWS.values())) + len(missing) > ROWS_SIZE:
            _ROWS.clear()
            known = _ROWS.setdefault((model, db, defer), {})
        converted = _shapes(model, db, compiler, missing)
        known.update((row, shape) for row, shape in converted.items() if shape[2] is not None)
        shapes = [known.get(row) or converted[row] for row in rows]
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return [model.from_db(db, names, values) for names, values, _fields in shapes]
    return [
        _build(db, model, fields) if fields is not None else model.from_db(db, names, values)
        for names, values, fields in shapes
    ]


def _queryset(model, db, defer, ids):
    return model._default_manager.using(db).defer(*defer).filter(pk__in=ids).order_by()


def _params(model, db, ids):
    """The keys as the query's parameters (what Django's ``pk__in`` makes of them)."""
    pk, connection = model._meta.pk, connections[db]
    return [pk.get_db_prep_value(pk.get_prep_value(value), connection, True) for value in ids]


def _compile(model, db, defer, ids, params):
    """Django's compiler and SQL for ``ids``; the SQL is kept for any other keys as many, or
    "" where its parameters are not the keys themselves (then Django builds every query)."""
    compiler = _queryset(model, db, defer, ids).query.get_compiler(using=db)
    sql, query_params = compiler.as_sql()
    if list(query_params) != params:
        sql = ""
    if len(_SQL) >= 256:
        _SQL.clear()
    _SQL[(model, db, defer, len(ids))] = sql
    return compiler, sql


def _shapes(model, db, compiler, rows):
    """{row: (names, values, fields)}: ``rows`` of the compiler's SQL converted as Django's
    ModelIterable does, and the fields ``from_db()`` sets from them; fields None (the row is
    not remembered) where a value could be changed in place (a JSON field's dict: instances
    would share it) or ``from_db()`` sets more than the fields."""
    info = compiler.klass_info
    columns = slice(info["select_fields"][0], info["select_fields"][-1] + 1)
    names = [column[0].target.attname for column in compiler.select[columns]]
    shapes = {}
    for row, values in zip(rows, compiler.results_iter([rows]), strict=True):
        values = tuple(values[columns])
        fields = dict(model.from_db(db, names, values).__dict__)
        del fields["_state"]
        if fields.keys() != set(names) or not all(isinstance(v, _UNCHANGING) for v in values):
            fields = None
        shapes[row] = (names, values, fields)
    return shapes


def _build(db, model, fields):
    """What ``from_db()`` returns, for a model nothing listens to the init signals of."""
    obj = model.__new__(model)
    obj.__dict__.update(fields)
    obj._state = ModelState()
    obj._state.adding = False
    obj._state.db = db
    return obj
