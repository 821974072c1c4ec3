"""The staff fixes' URLs, registered under the admin by wagtail_hooks (namespace
``wagtail_guestpay_staff``)."""

from django.urls import path
from wagtail.admin.views.pages.choose_parent import ChooseParentView

from ..models import PaymentResultPage
from .access_fixes import GrantAccessView, RevokeGrantView
from .buyer_data import EraseBuyerDataView, ExportBuyerDataView
from .compat import HAS_CHOOSE_PARENT_URL
from .exports import ExportDownloadView
from .fixes import (
    CorrectEmailView,
    GrantOrderAccessView,
    MoveAccessView,
    ResendAccessEmailView,
    ResolveAttentionView,
    RevokeOrderAccessView,
)
from .links import NAMESPACE
from .payment_fixes import CheckPaymentView, EventReviewedView, ReviewHoldView
from .refund_fixes import RefundView

app_name = NAMESPACE

urlpatterns = [
    path("orders/<int:order_pk>/correct-email/", CorrectEmailView.as_view(), name="correct_email"),
    path("orders/<int:order_pk>/move-access/", MoveAccessView.as_view(), name="move_access"),
    path(
        "orders/<int:order_pk>/grant-access/",
        GrantOrderAccessView.as_view(),
        name="grant_order_access",
    ),
    path(
        "orders/<int:order_pk>/revoke-access/",
        RevokeOrderAccessView.as_view(),
        name="revoke_order_access",
    ),
    path(
        "orders/<int:order_pk>/resend-email/",
        ResendAccessEmailView.as_view(),
        name="resend_access_email",
    ),
    path(
        "orders/<int:order_pk>/resolve/", ResolveAttentionView.as_view(), name="resolve_attention"
    ),
    path("orders/<int:order_pk>/refund/", RefundView.as_view(), name="refund_order"),
    path("payments/<int:payment_pk>/check/", CheckPaymentView.as_view(), name="check_payment"),
    path("payments/<int:payment_pk>/review/", ReviewHoldView.as_view(), name="review_hold"),
    path("grants/<int:grant_pk>/revoke/", RevokeGrantView.as_view(), name="revoke_grant"),
    path(
        "contacts/<int:contact_pk>/export-data/",
        ExportBuyerDataView.as_view(),
        name="export_buyer_data",
    ),
    path(
        "contacts/<int:contact_pk>/erase-data/",
        EraseBuyerDataView.as_view(),
        name="erase_buyer_data",
    ),
    path("access/grant/", GrantAccessView.as_view(), name="grant_access"),
    path("exports/<str:token>/", ExportDownloadView.as_view(), name="export_download"),
    path("events/<int:event_pk>/reviewed/", EventReviewedView.as_view(), name="event_reviewed"),
]

if not HAS_CHOOSE_PARENT_URL:  # Wagtail < 7.4; see links.new_result_page_url
    urlpatterns.append(
        path(
            "result-pages/new/",
            ChooseParentView.as_view(model=PaymentResultPage),
            name="new_result_page",
        )
    )
