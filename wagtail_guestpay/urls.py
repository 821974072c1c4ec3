"""Include in the site's URLconf before Wagtail's catch-all:
``path("guestpay/", include("wagtail_guestpay.urls"))``."""

from django.apps import apps
from django.urls import include, path

from .views import (
    account_settings,
    accounts,
    claims,
    free,
    notifications,
    orders,
    password_reset,
    pay,
    receipts,
    registration,
    signin,
)

app_name = "wagtail_guestpay"

urlpatterns = [
    path("pay/<slug:slug>/", pay.pay, name="pay"),
    path("checkout/<slug:slug>/", registration.checkout, name="checkout"),
    path("checkout/<slug:slug>/code/", registration.checkout_code, name="checkout_code"),
    path(
        "checkout/<slug:slug>/code/new/",
        registration.checkout_code_resend,
        name="checkout_code_resend",
    ),
    path("free/<slug:slug>/code/", free.free_code, name="free_code"),
    path("free/<slug:slug>/code/new/", free.free_code_resend, name="free_code_resend"),
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
    path("account/receipts/<int:receipt_id>/", receipts.receipt, name="receipt"),
    path("receipt/<str:token>/", receipts.receipt_link, name="receipt_link"),
    path("account/password/", account_settings.password_change, name="password_change"),
    path("account/email/", account_settings.email_change, name="email_change"),
    path(
        "account/email/confirm/", account_settings.email_change_confirm, name="email_change_confirm"
    ),
    path("login/", signin.login_view, name="login"),
    path("login/code/", signin.login_code, name="login_code"),
    path("login/link/<str:token>/", signin.login_link, name="login_link"),
    path("logout/", signin.logout_view, name="logout"),
    path("password-reset/", password_reset.password_reset, name="password_reset"),
    path("password-reset/sent/", password_reset.password_reset_done, name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        password_reset.password_reset_complete,
        name="password_reset_complete",
    ),
]

if apps.is_installed("wagtail_guestpay.testprovider"):
    urlpatterns.append(path("test-provider/", include("wagtail_guestpay.testprovider.urls")))
