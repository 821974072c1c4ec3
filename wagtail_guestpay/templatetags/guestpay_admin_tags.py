"""Template filters of the staff admin."""

from django import template

from ..admin.permissions import can_manage_access

register = template.Library()


@register.filter
def guestpay_can_manage_access(user):
    return can_manage_access(user)
