"""Include in the site's URLconf before Wagtail's catch-all:
``path("guestpay/", include("wagtail_guestpay.urls"))``."""

from django.apps import apps
from django.urls import include, path

from .views import accounts, claims, notifications, orders, pay, registration

app_name = "wagtail_guestpay"

urlpatterns = [
    path("pay/<slug:slug>/", pay.pay, name="pay"),
    path("checkout/<slug:slug>/", registration.checkout, name="checkout"),
    path("checkout/<slug:slug>/code/", registration.checkout_code, name="checkout_code"),
    path("checkout/<slug:slug>/code/new/", registration.checkout_code_resend,
         name="checkout_code_resend"),
    path("notify/<uuid:account_id>/", notifications.notify, name="notify"),
    path("order/<str:token>/", orders.order_page, name="order"),
    path("order/<str:token>/status/", orders.order_status, name="order_status"),
    path("order/<str:token>/retry/", orders.order_retry, name="order_retry"),
    path("order/<str:token>/claim/", claims.claim_send, name="order_claim"),
    path("order/<str:token>/claim/confirm/", claims.claim_confirm, name="order_claim_confirm"),
    path("access/new-link/", accounts.request_link, name="request_link"),
    path("access/<str:token>/", accounts.access_link, name="access_link"),
    path("account/setup/", accounts.account_setup, name="account_setup"),
    path("account/", accounts.personal_area, name="account"),
]

if apps.is_installed("wagtail_guestpay.testprovider"):
    urlpatterns.append(path("test-provider/", include("wagtail_guestpay.testprovider.urls")))
