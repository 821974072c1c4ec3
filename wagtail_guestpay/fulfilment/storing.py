"""One INSERT of a stored event, compiled once per process.

Storing a notification is the callback's one write. Django's ``bulk_create`` compiles the same
``INSERT ... ON CONFLICT DO NOTHING`` on every call, which was half of the callback's time
(bench/results, profile-notify.txt); here the statement is compiled by Django once per database
and model and reused, with the values prepared by the model's fields exactly as Django prepares
them. Backends other than SQLite and PostgreSQL, and several rows, go through ``bulk_create``.
"""

from django.db import connections, router
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
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    key = (using, model._meta.label)
    statement = _statements.get(key)
    if statement is None:
        query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
        query.insert_values(fields, objs)
        [(statement, _params)] = query.get_compiler(using=using).as_sql()
        _statements[key] = statement
    obj = objs[0]
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
