"""Reverse one-to-one rows read once per instance."""


def reverse_one(instance, name, queryset):
    """``instance``'s row of the reverse one-to-one relation ``name`` (None without one), read
    once per instance: from the instance's own query when it selected ``name``, else from
    ``queryset``, then kept on the instance as Django's ``select_related`` keeps it."""
    related = getattr(type(instance), name).related
    if not related.is_cached(instance):
        found = queryset.filter(**{related.field.name: instance.pk}).first()
        related.set_cached_value(instance, found)
    return related.get_cached_value(instance)
