"""Exports of the staff listings (Transactions, Contacts) at scale: the request's side.

1. Up to ``ADMIN_EXPORT_THRESHOLD`` rows, the export is made in the request: CSV streamed row by
   row from a chunked database cursor (constant memory), XLSX built by openpyxl's write-only
   workbook (bounded by the threshold).
2. Above it, the request answers at once (a redirect to the list, with a message) and queues
   ``wagtail_guestpay.tasks.export_listing`` (staff/exports.py writes the file and e-mails the
   link).
3. The link (:class:`ExportDownloadView`) is signed, expires after ``ADMIN_EXPORT_MAX_AGE`` and
   serves the file only to a user who may see transactions.
"""

import os

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseGone, QueryDict
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import View

from ..conf import guestpay_settings
from ..queueing import enqueue
from ..staff.exports import file_of
from .permissions import can_view

CHUNK = 1000  # rows fetched per round trip while exporting


class ChunkedRows:
    """A queryset read through a chunked cursor: iterating never caches the rows (Wagtail's
    export iterates its argument and reads ``.model`` for the headings)."""

    def __init__(self, queryset):
        self.queryset = queryset
        self.model = queryset.model

    def __iter__(self):
        return self.queryset.iterator(chunk_size=CHUNK)


def start_export(view, spreadsheet_format):
    """Queue the export of the view's list (its query string without ``export``)."""
    request = view.request
    params = [
        (name, value)
        for name, values in request.GET.lists()
        if name != view.EXPORT_VAR
        for value in values
    ]
    admin_class = type(view.model_admin)
    enqueue(
        "wagtail_guestpay.tasks.export_listing",
        f"{admin_class.__module__}.{admin_class.__qualname__}",
        params,
        spreadsheet_format,
        request.user.pk,
        translation.get_language(),
        guestpay_settings.BASE_URL or request.build_absolute_uri("/"),
    )
    messages.success(
        request,
        _(
            "This export has more than %(count)s rows: it is being prepared in the background. "
            "You will receive an e-mail with a link to download it."
        )
        % {"count": guestpay_settings.ADMIN_EXPORT_THRESHOLD},
    )
    kept = QueryDict(mutable=True)
    for name, value in params:
        kept.appendlist(name, value)
    return redirect(f"{request.path}?{kept.urlencode()}" if kept else request.path)


class ExportDownloadView(View):
    def get(self, request, token):
        if not can_view(request.user):
            raise PermissionDenied
        try:
            name = file_of(token)
        except signing.SignatureExpired:
            return HttpResponseGone(_("This export link has expired: export the list again."))
        except signing.BadSignature:
            raise Http404 from None
        if not default_storage.exists(name):
            raise Http404
        return FileResponse(
            default_storage.open(name, "rb"),
            as_attachment=True,
            filename=os.path.basename(name).split("-", 1)[-1],
        )
