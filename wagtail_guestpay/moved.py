"""Old import paths of modules that moved into subpackages, kept for one release.

Each old module (``wagtail_guestpay/access.py`` and the like) is a shim: importing it emits a
DeprecationWarning, at the line that imported it, and the old name then *is* the new module
(same functions, same state, so patching either path patches both). Nothing in the package
imports an old path; tests/test_layout.py checks that, and that each one still works.
"""

import sys
import warnings

# The paths named in docs/ that host sites may import.
MOVED = {
    "wagtail_guestpay.access": "wagtail_guestpay.fulfilment.access",
    "wagtail_guestpay.corrections": "wagtail_guestpay.buyers.corrections",
    "wagtail_guestpay.fixes": "wagtail_guestpay.staff.fixes",
    "wagtail_guestpay.typos": "wagtail_guestpay.buyers.typos",
}


def alias(old_name, module):
    """Make ``old_name`` an alias of ``module`` and warn whoever imported it."""
    warnings.warn(
        f"{old_name} moved to {module.__name__}; the old path will be removed in the next release.",
        DeprecationWarning,
        stacklevel=_importer_level(),
    )
    sys.modules[old_name] = module


def _importer_level():
    """The stack level of the line that imported the old path: past this module and the shim
    (warnings.warn itself skips the import machinery's frames)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib")
        or frame.f_globals.get("__name__") in (__name__, *MOVED)
    ):
        if not frame.f_code.co_filename.startswith("<frozen importlib"):
            level += 1
        frame = frame.f_back
    return level
