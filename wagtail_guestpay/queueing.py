"""Queueing background work on django-q2: the broker of this process, and whether a queued task
commits with the current transaction. Imported by the modules that queue work and by nothing
they import, so that tasks.py (the django-q2 entry points) can import them at the top. Not named
queue.py: run from inside the package directory (makemessages), that would shadow the standard
library's queue module."""


def enqueue(func, *args):
    """Queue ``func`` (a dotted path) on django-q2."""
    from django_q.tasks import async_task

    return async_task(func, *args, group="wagtail_guestpay", broker=_broker())


_BROKERS = {}


def _broker():
    """One django-q2 broker per process. Without it async_task builds a broker per call, which
    for Redis means a new connection pool, and a TCP connection, per notification (measured:
    about a third of the callback's time on the Redis broker)."""
    import os

    from django_q.brokers import get_broker

    pid = os.getpid()  # not inherited across fork
    broker = _BROKERS.get(pid)
    if broker is None:
        _BROKERS.clear()
        broker = _BROKERS[pid] = get_broker()
    return broker


def queue_shares_transaction(using="default"):
    """True when queued tasks are rows in the database ``using`` (django-q2's ORM broker on it,
    not in sync mode), so that enqueueing inside a transaction commits with it."""
    from django.db import transaction
    from django_q.conf import Conf

    return bool(
        Conf.ORM == using
        and not Conf.SYNC
        and not Conf.BROKER_CLASS
        and transaction.get_connection(using).in_atomic_block
    )
