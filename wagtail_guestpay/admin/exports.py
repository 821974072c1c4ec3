"""Exports of the staff listings (Transactions, Contacts) at scale.

1. Up to ``ADMIN_EXPORT_THRESHOLD`` rows, the export is made in the request: CSV streamed row by
   row from a chunked database cursor (constant memory), XLSX built by openpyxl's write-only
   workbook (bounded by the threshold).
2. Above it, the request answers at once ("export started") and queues
   ``wagtail_guestpay.tasks.export_listing``: the task rebuilds the listing's request (the same
   filters, search and order, the same permission check), writes the file to the default storage
   under ``ADMIN_EXPORT_DIR`` and e-mails the staff member a link.
3. The link (:class:`ExportDownloadView`) is signed, expires after ``ADMIN_EXPORT_MAX_AGE`` and
   serves the file only to a user who may see transactions. The task deletes expired files.
"""

import logging
import os
import secrets
import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.http import FileResponse, Http404, HttpRequest, HttpResponseGone, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views import View
from wagtail_modeladmin.options import ModelAdmin

from ..conf import guestpay_settings
from ..tasks import enqueue
from .links import NAMESPACE
from .permissions import can_view

logger = logging.getLogger(__name__)

SALT = "wagtail_guestpay.admin.exports"
CHUNK = 1000  # rows fetched per round trip while exporting


class ChunkedRows:
    """A queryset read through a chunked cursor: iterating never caches the rows (Wagtail's
    export iterates its argument and reads ``.model`` for the headings)."""

    def __init__(self, queryset):
        self.queryset = queryset
        self.model = queryset.model

    def __iter__(self):
        return self.queryset.iterator(chunk_size=CHUNK)


# 2. In the request: hand the export to a task -------------------------------------------------
def start_export(view, spreadsheet_format):
    request = view.request
    params = [(name, value) for name, values in request.GET.lists()
              if name != view.EXPORT_VAR for value in values]
    admin_class = type(view.model_admin)
    enqueue("wagtail_guestpay.tasks.export_listing",
            f"{admin_class.__module__}.{admin_class.__qualname__}", params, spreadsheet_format,
            request.user.pk, translation.get_language(),
            guestpay_settings.BASE_URL or request.build_absolute_uri("/"))
    messages.success(request, _(
        "This export has more than %(count)s rows: it is being prepared in the background. "
        "You will receive an e-mail with a link to download it."
    ) % {"count": guestpay_settings.ADMIN_EXPORT_THRESHOLD})
    kept = QueryDict(mutable=True)
    for name, value in params:
        kept.appendlist(name, value)
    return redirect(f"{request.path}?{kept.urlencode()}" if kept else request.path)


# 2. In the task: write the file ---------------------------------------------------------------
def write_export(view, rows, spreadsheet_format, target):
    """Write ``rows`` as the view's export to the binary file ``target``."""
    if spreadsheet_format == view.FORMAT_XLSX:
        view.write_xlsx(rows, target)
        return
    for line in view.stream_csv(rows):  # Wagtail's CSV writer yields UTF-8 bytes
        target.write(line if isinstance(line, bytes) else line.encode())
    return


def export_listing(admin_path, params, spreadsheet_format, user_id, language, base_url):
    """The task: the listing's export written to storage, the link e-mailed to the user."""
    admin_class = import_string(admin_path)
    if not (isinstance(admin_class, type) and issubclass(admin_class, ModelAdmin)
            and admin_path.startswith("wagtail_guestpay.")):
        raise ValueError(f"Not a staff listing: {admin_path}")
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not can_view(user):
        logger.warning("Export for user %s dropped: no longer allowed to see transactions",
                       user_id)
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
            f"{view.get_filename()}.{spreadsheet_format}", File(target))
        link = base_url.rstrip("/") + reverse(
            f"{NAMESPACE}:export_download", args=[signing.dumps({"file": name}, salt=SALT)])
        tell(user, link)
    return name


def tell(user, link):
    address = getattr(user, user.get_email_field_name(), "")
    if not address:
        return
    hours = int(guestpay_settings.as_timedelta("ADMIN_EXPORT_MAX_AGE").total_seconds() // 3600)
    send_mail(
        _("Your export is ready"),
        _("The export you asked for is ready. Download it (you need to be logged in to the "
          "admin, with the permission to see transactions) within %(hours)s hours:\n\n%(link)s\n")
        % {"hours": hours, "link": link},
        guestpay_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL, [address],
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


# 3. The download link ------------------------------------------------------------------------
class ExportDownloadView(View):
    def get(self, request, token):
        if not can_view(request.user):
            raise PermissionDenied
        max_age = guestpay_settings.as_timedelta("ADMIN_EXPORT_MAX_AGE")
        try:
            name = signing.loads(token, salt=SALT, max_age=max_age)["file"]
        except signing.SignatureExpired:
            return HttpResponseGone(_("This export link has expired: export the list again."))
        except (signing.BadSignature, KeyError, TypeError):
            raise Http404 from None
        if not (isinstance(name, str) and name.startswith(
                guestpay_settings.ADMIN_EXPORT_DIR + "/") and default_storage.exists(name)):
            raise Http404
        return FileResponse(default_storage.open(name, "rb"), as_attachment=True,
                            filename=os.path.basename(name).split("-", 1)[-1])

