"""The committed migrations describe the models, on every supported Wagtail: `make test` runs this
on the newest Wagtail and on 7.0 LTS, whose wagtailcore has fewer migrations and no swappable
page model (the initial migrations are written for both)."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_models_need_no_new_migration():
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exit:  # --check: exit status 1 when a migration is missing
        pytest.fail(f"makemigrations --check exited with {exit.code}: a migration is missing")
