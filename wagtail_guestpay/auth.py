"""An authentication backend that logs buyers in with their e-mail address.

Accounts created by a payment get a generated username; buyers know their e-mail. Add
``"wagtail_guestpay.auth.EmailBackend"`` to AUTHENTICATION_BACKENDS, after Django's ModelBackend.
An address shared by several accounts logs none of them in.
"""

from django.contrib.auth.backends import ModelBackend

from .fulfilment.accounts import users_with_email


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None or "@" not in username:
            return None
        users = list(users_with_email(username.strip())[:2])
        if len(users) != 1:
            # Run the hasher anyway so that timing does not tell whether the address is known.
            from django.contrib.auth import get_user_model

            get_user_model()().set_password(password)
            return None
        user = users[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
