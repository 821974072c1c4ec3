"""One INSERT that ignores conflicts, compiled once per process (a stored event, a queued e-mail,
a new contact).

Storing a notification is the callback's one write. Django's ``bulk_create`` compiles the same
``INSERT ... ON CONFLICT DO NOTHING`` on every call, which was half of the callback's time
(bench/results, profile-notify.txt); here the statement is compiled by Django once per database
and model and reused, with the values prepared by the model's fields exactly as Django prepares
them. Backends other than SQLite and PostgreSQL, and several rows, go through ``bulk_create``.
"""

from django.db import IntegrityError, connections, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

FAST_VENDORS = ("sqlite", "postgresql")
_statements = {}


def insert_ignoring_conflicts(model, objs):
    """INSERT ``objs`` (unsaved instances); a row that would break a unique constraint is left
    out without an error, and no savepoint is made. Primary keys are not set on ``objs``."""
    using = router.db_for_write(model)
    connection = connections[using]
    if len(objs) != 1 or connection.vendor not in FAST_VENDORS:
        model._default_manager.using(using).bulk_create(objs, ignore_conflicts=True)
        return
    _execute(connection, _statement(model, using, objs), objs[0])


def insert_one(model, obj):
    """INSERT ``obj`` unless it would break a unique constraint: True and its primary key set
    if it went in, False if not. One statement (``... ON CONFLICT DO NOTHING RETURNING``, or
    SQLite's ``INSERT OR IGNORE ... RETURNING``), no savepoint; elsewhere a savepoint."""
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor not in FAST_VENDORS:
        try:
            with transaction.atomic(using=using):
                obj.save(force_insert=True, using=using)
        except IntegrityError:
            return False
        return True
    pk = model._meta.pk
    statement = _statement(model, using, [obj], returning=pk.column)
    row = _execute(connection, statement, obj, fetch=True)
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    return True


def _statement(model, using, objs, returning=None):
    key = (using, model._meta.label, returning)
    statement = _statements.get(key)
    if statement is None:
        fields = _fields(model)
        query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
        query.insert_values(fields, objs)
        [(statement, _params)] = query.get_compiler(using=using).as_sql()
        if returning:
            statement += " RETURNING " + connections[using].ops.quote_name(returning)
        _statements[key] = statement
    return statement


def _fields(model):
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _execute(connection, statement, obj, fetch=False):
    fields = _fields(type(obj))
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone() if fetch else None
