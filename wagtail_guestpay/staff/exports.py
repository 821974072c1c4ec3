"""Background exports of the staff listings: the task's side (the request's side, and the
download link's view, are in admin/exports.py).

1. The task rebuilds the listing's request (the same query string: filters, search, order) for
   the staff member who asked, through the listing's own index view: the same permission check,
   the same queryset, the same columns.
2. The view writes the rows to a temporary file (CSV from a chunked cursor, XLSX through
   openpyxl's write-only workbook), which goes to the default storage under
   ``ADMIN_EXPORT_DIR`` with a random name.
3. The staff member receives an e-mail with a signed link that expires after
   ``ADMIN_EXPORT_MAX_AGE``; files older than that are deleted by the next export.
"""

import logging
import secrets
import tempfile

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from wagtail_modeladmin.options import ModelAdmin

from ..conf import guestpay_settings

logger = logging.getLogger(__name__)

SALT = "wagtail_guestpay.staff.exports"
DOWNLOAD_URL = "wagtail_guestpay_staff:export_download"  # admin/urls.py
PERMISSION = "wagtail_guestpay.view_transactions"  # what admin.permissions.can_view checks


def may_download(user):
    return bool(user.is_active and user.has_perm(PERMISSION))


def link_token(name):
    return signing.dumps({"file": name}, salt=SALT)


def file_of(token):
    """The stored file a link names; raises signing.SignatureExpired or signing.BadSignature."""
    max_age = guestpay_settings.as_timedelta("ADMIN_EXPORT_MAX_AGE")
    value = signing.loads(token, salt=SALT, max_age=max_age)
    name = value.get("file") if isinstance(value, dict) else None
    if not (isinstance(name, str) and name.startswith(guestpay_settings.ADMIN_EXPORT_DIR + "/")):
        raise signing.BadSignature("not an export")
    return name


def write_export(view, rows, spreadsheet_format, target):
    """Write ``rows`` as the view's export to the binary file ``target``."""
    if spreadsheet_format == view.FORMAT_XLSX:
        view.write_xlsx(rows, target)
        return
    for line in view.stream_csv(rows):  # Wagtail's CSV writer yields UTF-8 bytes
        target.write(line if isinstance(line, bytes) else line.encode())


def export_listing(admin_path, params, spreadsheet_format, user_id, language, base_url):
    """The task: the listing's export written to storage, the link e-mailed to the user."""
    admin_class = import_string(admin_path)
    if not (
        isinstance(admin_class, type)
        and issubclass(admin_class, ModelAdmin)
        and admin_path.startswith("wagtail_guestpay.")
    ):
        raise ValueError(f"Not a staff listing: {admin_path}")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not may_download(user):
        logger.warning("Export for user %s dropped: no longer allowed to see transactions", user_id)
        return None
    delete_expired()
    model_admin = admin_class()
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(mutable=True)
    for name, value in [*params, ("export", spreadsheet_format)]:
        request.GET.appendlist(name, value)
    request.user = user
    with translation.override(language), tempfile.TemporaryFile() as target:
        view = model_admin.index_view_class(model_admin=model_admin)
        view.export_target = target
        view.setup(request)
        response = view.dispatch(request)
        if response is not None:  # a refused query string (400)
            logger.warning("Export of %s refused: %s", admin_path, response.status_code)
            return None
        target.seek(0)
        name = default_storage.save(
            f"{guestpay_settings.ADMIN_EXPORT_DIR}/{secrets.token_hex(16)}-"
            f"{view.get_filename()}.{spreadsheet_format}",
            File(target),
        )
        tell(user, base_url.rstrip("/") + reverse(DOWNLOAD_URL, args=[link_token(name)]))
    return name


def tell(user, link):
    address = getattr(user, user.get_email_field_name(), "")
    if not address:
        logger.warning("Export ready for user %s, who has no e-mail address", user.pk)
        return
    hours = int(guestpay_settings.as_timedelta("ADMIN_EXPORT_MAX_AGE").total_seconds() // 3600)
    send_mail(
        _("Your export is ready"),
        _(
            "The export you asked for is ready. Download it (you need to be logged in to the "
            "admin, with the permission to see transactions) within %(hours)s hours:\n\n%(link)s\n"
        )
        % {"hours": hours, "link": link},
        guestpay_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL,
        [address],
    )


def delete_expired():
    """Delete exported files older than their links."""
    folder = guestpay_settings.ADMIN_EXPORT_DIR
    cutoff = timezone.now() - guestpay_settings.as_timedelta("ADMIN_EXPORT_MAX_AGE")
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for filename in files:
        name = f"{folder}/{filename}"
        try:
            if default_storage.get_modified_time(name) < cutoff:
                default_storage.delete(name)
        except (FileNotFoundError, NotImplementedError):
            continue
