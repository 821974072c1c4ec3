"""Where an address is left outside the package's own tables: Wagtail's audit log, the session
table, and django-q2's queued and finished tasks (the tasks that look an address up, e.g. a
sign-in code, carry it as an argument). Part of an erasure (:mod:`.erasure`)."""

from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from wagtail.models import ModelLogEntry

from .records import mentions
from .scrub import contains, erased_address, replace_address, strip_addresses

DB_SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def replace_in_email_fields(email):
    """Any e-mail field of the package's models (its apps: wagtail_guestpay and
    wagtail_guestpay.*) that still holds ``email`` after the steps that know each model, e.g. a
    model added later that they do not know yet: replaced, row by row, with an address that is
    no one's. Returns how many rows."""
    changed = 0
    for config in apps.get_app_configs():
        if config.name != "wagtail_guestpay" and not config.name.startswith("wagtail_guestpay."):
            continue
        for model in config.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, models.EmailField):
                    continue
                manager = model._default_manager
                for pk in manager.filter(**{f"{field.name}__iexact": email}).values_list(
                    "pk", flat=True
                ):
                    changed += manager.filter(pk=pk).update(**{field.name: erased_address()})
    return changed


def scrub_log_entries(email, own_objects):
    """Audit-log entries: those of ``own_objects`` (the erased contacts and the address's own
    orders) lose every address in their data and are relabelled; any other entry that names
    ``email`` loses it. Returns how many entries changed."""
    changed = 0
    own = Q(pk__in=[])
    labels = {}
    for obj in own_objects:
        content_type = ContentType.objects.get_for_model(type(obj))
        own |= Q(content_type=content_type, object_id=str(obj.pk))
        labels[(content_type.pk, str(obj.pk))] = str(obj)[:255]
    for entry in ModelLogEntry.objects.filter(own).select_for_update():
        label = labels[(entry.content_type_id, entry.object_id)]
        data = strip_addresses(entry.data or {})
        if (label, data) != (entry.label, entry.data):
            ModelLogEntry.objects.filter(pk=entry.pk).update(label=label, data=data)
            changed += 1
    others = (
        ModelLogEntry.objects.exclude(own)
        .annotate(data_text=Cast("data", TextField()))
        .filter(mentions("label", email) | mentions("data_text", email))
    )
    for entry in others:
        ModelLogEntry.objects.filter(pk=entry.pk).update(
            label=replace_address(entry.label, email), data=replace_address(entry.data, email)
        )
        changed += 1
    return changed


def end_sessions(email, user_ids):
    """Delete the sessions of the anonymised accounts and those that hold ``email`` (a sign-in
    form remembers the address it sent a code to). Only sessions stored in the database can be
    searched: with cache or cookie sessions, the accounts' sessions end when they expire (an
    anonymised account is deactivated, so none of them signs anyone in). Returns how many."""
    engine = settings.SESSION_ENGINE
    if engine not in DB_SESSION_ENGINES:
        return 0
    from django.contrib.sessions.models import Session

    store_class = import_module(engine).SessionStore
    users = {str(pk) for pk in user_ids}
    doomed = []
    for key, data in Session.objects.values_list("session_key", "session_data").iterator():
        decoded = store_class().decode(data)
        if str(decoded.get("_auth_user_id", "")) in users or contains(decoded, email):
            doomed.append(key)
    for key in doomed:
        store_class(session_key=key).delete()
    return len(doomed)


def drop_tasks(email):
    """Delete django-q2's queued (ORM broker) and finished tasks whose arguments or result hold
    ``email``: a queued one that would e-mail the address is not wanted any more. Tasks queued on
    a Redis broker live minutes and are not searched. Returns how many rows were deleted."""
    from django_q.models import OrmQ, Task

    done = [
        pk
        for pk, args, kwargs, result in Task.objects.values_list(
            "pk", "args", "kwargs", "result"
        ).iterator()
        if contains([args, kwargs, result], email)
    ]
    queued = [row.pk for row in OrmQ.objects.iterator() if contains(_queued(row), email)]
    Task.objects.filter(pk__in=done).delete()
    OrmQ.objects.filter(pk__in=queued).delete()
    return len(done) + len(queued)


def _queued(row):
    try:
        task = row.task()
    except Exception:  # not readable with this site's key: not ours to judge
        return []
    return [task.get("args"), task.get("kwargs")]
