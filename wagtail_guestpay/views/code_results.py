"""Redirect after POST for the pages that take an e-mailed code (registration before payment,
the success page's e-mail claim).

A checked code (right or wrong) has spent a try: the answer is a 303 to the page, never a page
rendered in answer to the POST, so that reloading it cannot send the code again and burn another
try. What the check found travels to that GET in the session, once, and only to the page it
belongs to (``where``: the registration or the order).
"""

from django.utils.translation import ngettext

from ..buyers.codes import CodeCheck

SESSION_KEY = "wagtail_guestpay_code_result"


def remember(request, where, attempt):
    """Keep a code check's result (a :class:`~wagtail_guestpay.codes.Attempt`) for the next
    GET of the page ``where``."""
    request.session[SESSION_KEY] = {
        "where": where,
        "result": attempt.result.value,
        "attempts_left": attempt.attempts_left,
    }


def take(request, where):
    """The result remembered for ``where``, once (a :class:`CodeCheck`, attempts left), or
    (None, 0)."""
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("where") != where:
        return None, 0
    del request.session[SESSION_KEY]
    try:
        result = CodeCheck(stored.get("result"))
        attempts_left = int(stored.get("attempts_left") or 0)
    except (TypeError, ValueError):
        return None, 0
    return result, attempts_left


def wrong_code_message(attempts_left):
    return ngettext(
        "This is not the code we sent. %(count)s try left.",
        "This is not the code we sent. %(count)s tries left.",
        attempts_left,
    ) % {"count": attempts_left}


def form_with_code_error(form_class, message, **kwargs):
    """A code form that shows ``message`` on its (empty) code field, as after a POST."""
    form = form_class(data={"code": ""}, **kwargs)
    form.errors["code"] = form.error_class([message])
    return form
