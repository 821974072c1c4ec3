"""Parts of the processes of a :class:`tests.stack.Stack`."""

import os
import re
import time
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from wagtail_guestpay.adapter import GuestPayAdapter


class PausingAdapter(GuestPayAdapter):
    """Creating the account of ``pause-...@example.com`` pauses the worker mid-transaction the
    first time (the test kills it there): it writes its pid to ``paused-<email>`` and sleeps."""

    def create_user(self, email):
        user = super().create_user(email)
        if email.startswith("pause-"):
            marker = Path(os.environ["GUESTPAY_VAR_DIR"]) / f"paused-{email}"
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return user  # the second run goes through
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            time.sleep(120)
        return user


class FileEmailBackend(BaseEmailBackend):
    """Each message as an .eml file under EMAIL_FILE_PATH, named with the time it was handed to
    the backend (no console output: the benchmarks send thousands)."""

    def send_messages(self, email_messages):
        directory = Path(settings.EMAIL_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            to = re.sub(r"[^A-Za-z0-9@._-]", "_", ",".join(message.to))[:80]
            stamp = f"{time.time():.6f}"
            (directory / f"{stamp}-{os.getpid()}-{to}.eml").write_bytes(
                message.message().as_bytes()
            )
        return len(email_messages)


def sent_at(path):
    """The time a message file was handed to the backend."""
    return float(Path(path).name.split("-", 1)[0])
