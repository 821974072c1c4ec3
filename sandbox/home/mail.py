"""E-mail for the sandbox: each message as an .eml file under EMAIL_FILE_PATH, and on the
console, so that a person can open the access link."""

import re
import sys
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class FileAndConsoleBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        directory = Path(settings.EMAIL_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            raw = message.message().as_bytes()
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            to = re.sub(r"[^A-Za-z0-9@._-]", "_", ",".join(message.to))[:80]
            (directory / f"{stamp}-{to}.eml").write_bytes(raw)
            sys.stdout.write(f"\n--- e-mail to {', '.join(message.to)}: {message.subject}\n")
            sys.stdout.write(message.body + "\n---\n")
            sys.stdout.flush()
        return len(email_messages)
