"""Finding every provider's contract class, so the hostile-input tests cover each provider that
has one (tests/providers/test_<kind>.py), including those that land later, without edits."""

import importlib
import json
import pkgutil
from urllib.parse import parse_qs

import tests.providers
from tests.providers.contract import ProviderContract


def contract_classes():
    """Every ProviderContract subclass defined in tests/providers/test_*.py, by name."""
    found = {}
    for info in pkgutil.iter_modules(tests.providers.__path__):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"tests.providers.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, ProviderContract)
                and value.__name__.startswith("Test")
                and value is not ProviderContract
                and value.__module__ == module.__name__
            ):
                found[f"{info.name.removeprefix('test_')}.{value.__name__}"] = value
    return found


def without_own_tests(cls):
    """Attributes that switch off the tests a contract class already runs in its own module,
    so that a subclass made here runs only the hostile-input tests (with the class's fixtures
    and hooks)."""
    return {name: None for name in dir(cls) if name.startswith("test_")}


def same_content(first, second):
    """True if two bodies say the same thing (JSON or form data parsed), so that a mutation that
    only changes formatting is not taken for tampering: protocols that sign parsed values
    (Fondy, WayForPay) rightly accept it."""
    if first == second:
        return True
    for parse in (
        lambda b: json.loads(b.decode("utf-8")),
        lambda b: parse_qs(b.decode("utf-8"), keep_blank_values=True, strict_parsing=True),
    ):
        try:
            if parse(first) == parse(second):
                return True
        except (ValueError, UnicodeDecodeError):
            continue
    return False


def signature_headers(headers, forged_headers):
    """The headers that carry the signature: those ``forge`` changed."""
    return sorted(key for key in headers if headers.get(key) != forged_headers.get(key))
