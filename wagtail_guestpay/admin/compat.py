"""What Wagtail 7.0 LTS lacks that this app uses, one flag per feature and the release that added
it. Wagtail 8 takes none of the fallbacks; drop each one when the oldest supported Wagtail has it.

- 7.3: ``ModelViewSet.pk_path_converter`` (the gear's URL falls back to ``int``, Offer's key);
- 7.4: the ``wagtailadmin_pages:choose_parent`` view of every page type (the gear's "Create a new
  result page" falls back to the same view served under the staff URLs);
- 8.0: ``ViewSetGroup.submenu_hook`` (the Payments menu builds its submenu itself).
"""

from wagtail import VERSION

HAS_PK_PATH_CONVERTER = VERSION >= (7, 3)
HAS_CHOOSE_PARENT_URL = VERSION >= (7, 4)
HAS_SUBMENU_HOOK = VERSION >= (8, 0)
