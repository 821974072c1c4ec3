"""Run the sandbox: the web server and the django-q2 worker together, until Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and the background worker of the sandbox together."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("GUESTPAY_ADDR", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("GUESTPAY_PORT", "8000"))

    def handle(self, *args, addr, port, **options):
        manage = [sys.executable, str(settings.SANDBOX_DIR / "manage.py")]
        base = f"http://{addr}:{port}"
        env = {
            **os.environ,
            "GUESTPAY_BASE_URL": os.environ.get("GUESTPAY_BASE_URL", base),
            "PYTHONUNBUFFERED": "1",
        }
        # For manage.py commands run from another terminal while the demo runs (settings.py).
        running = settings.VAR_DIR / "base-url.txt"
        running.write_text(env["GUESTPAY_BASE_URL"] + "\n")
        password_file = settings.VAR_DIR / "admin-password.txt"
        password = password_file.read_text().strip() if password_file.exists() else "?"
        # Process groups of their own: Ctrl-C reaches this command only, which stops both with
        # SIGTERM (a shell that starts the demo in the background makes its children ignore SIGINT).
        worker = subprocess.Popen([*manage, "qcluster"], env=env, process_group=0)
        web = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"{addr}:{port}"], env=env, process_group=0
        )
        self.stdout.write(
            self.style.SUCCESS(
                "\nGuestpay sandbox is running:\n"
                f"  Site:                 {base}/\n"
                f"  Offer (no login):     {base}/demo-course/\n"
                f"  Offer (login first):  {base}/members-only/\n"
                f"  Wagtail admin:        {base}/admin/  (admin / {password})\n"
                f"  TestPay dashboard:    {base}/guestpay/test-provider/\n"
                f"  E-mails:              {settings.EMAIL_FILE_PATH}/ (and this console)\n"
                "Press Ctrl-C to stop.\n"
            )
        )
        processes = [web, worker]
        stopping = False

        def stop(*_args):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(process.poll() is None for process in processes):
                time.sleep(0.5)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            running.unlink(missing_ok=True)
