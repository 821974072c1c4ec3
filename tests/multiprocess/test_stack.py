"""The deployed shape, per database and broker: two gunicorn web processes and two qcluster
processes (two workers each). Paid notifications delivered several times at once to different web
processes are granted and mailed once; a worker killed with SIGKILL in the middle of processing
(inside the transaction that grants) leaves nothing half-done, and the task runs again (django-q2's
redelivery on the ORM broker, the maintenance sweeper on Redis, which has no redelivery)."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.stack import paid_body, signed_headers, wait_for

pytestmark = pytest.mark.multiprocess


def deliver(stack, payment, email, times=1, status="paid"):
    body = paid_body(payment, email, status=status)
    headers = signed_headers(stack.secrets["secret"], body)
    url = stack.url + stack.secrets["notify_path"]

    def post(_):
        return httpx.post(url, content=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(post, range(times)))


def granted(stack, order_id):
    return stack.scalar(
        "SELECT COUNT(*) FROM wagtail_guestpay_accessgrant WHERE order_id = %s "
        "AND revoked_at IS NULL",
        (order_id,),
    )


def access_mails(stack, email):
    return sorted(stack.mail_dir().glob(f"*-{email}.eml")) if stack.mail_dir().exists() else []


def users(stack, email):
    return stack.scalar("SELECT COUNT(*) FROM auth_user WHERE LOWER(email) = %s", (email,))


def test_paid_orders_are_granted_and_mailed_once_across_processes(stack):
    with httpx.Client() as client:
        payments = [stack.click_pay(client) for _ in range(12)]
    emails = [f"multi{index}-{stack.broker}@example.com" for index in range(len(payments))]
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(
            pool.map(
                lambda pe: deliver(stack, pe[0], pe[1], times=4), zip(payments, emails, strict=True)
            )
        )
    assert all(code == 200 for batch in codes for code in batch), codes

    def all_mailed():
        return all(access_mails(stack, email) for email in emails)

    wait_for(
        all_mailed, 60, message=f"access e-mails ({stack.label})\n" + stack.log("worker0")[-2000:]
    )
    for payment, email in zip(payments, emails, strict=True):
        assert (
            stack.scalar(
                "SELECT status FROM wagtail_guestpay_order WHERE id = %s", (payment["order_id"],)
            )
            == "paid"
        )
        assert granted(stack, payment["order_id"]) == 1
        assert users(stack, email) == 1
    # nothing more arrives later
    import time

    time.sleep(1.5)
    assert [len(access_mails(stack, email)) for email in emails] == [1] * len(emails)


def test_worker_killed_mid_processing_runs_again_and_grants_once(stack):
    email = f"pause-{stack.broker}-{stack.vendor}@example.com"
    with httpx.Client() as client:
        payment = stack.click_pay(client)
    assert deliver(stack, payment, email) == [200]

    marker = stack.var_dir / f"paused-{email}"
    wait_for(marker.exists, 30, message="the worker to reach the pause")
    pid = int(wait_for(lambda: marker.read_text().strip(), 5, message="the pid"))
    os.kill(pid, signal.SIGKILL)  # inside the transaction that creates the account and grants

    # Nothing of the killed transaction is left: no account, no grant, order not paid.
    wait_for(
        lambda: (
            stack.scalar(
                "SELECT COUNT(*) FROM wagtail_guestpay_paymentevent WHERE "
                "processed_at IS NULL AND signature_valid = %s",
                (True,),
            )
            >= 1
        ),
        10,
        message="the event to be unprocessed",
    )
    assert granted(stack, payment["order_id"]) == 0
    assert users(stack, email) == 0

    if stack.broker == "redis":
        # Redis hands a task out once (BLPOP): the sweeper takes events whose task was lost.
        import time

        time.sleep(3.5)  # WAGTAIL_GUESTPAY_EVENT_TASK_GRACE in the stack
        stack.manage(
            "shell", "-c", "from wagtail_guestpay.tasks import run_maintenance; run_maintenance()"
        )
    # The ORM broker delivers the task again after Q_CLUSTER["retry"] (10 s in the stack).
    wait_for(
        lambda: access_mails(stack, email),
        45,
        message=f"the retried task ({stack.label})\n" + stack.log("worker0")[-3000:],
    )
    assert (
        stack.scalar(
            "SELECT status FROM wagtail_guestpay_order WHERE id = %s", (payment["order_id"],)
        )
        == "paid"
    )
    assert granted(stack, payment["order_id"]) == 1
    assert users(stack, email) == 1
    assert len(access_mails(stack, email)) == 1
