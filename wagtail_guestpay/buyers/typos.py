"""Likely fixes for mistyped e-mail domains ("gmial.com" -> "gmail.com").

A buyer who types an address in one of our forms is asked "Did you mean ...?" before anything is
sent, when the domain is one or two keystrokes away from a common mail domain. The check is a
suggestion the buyer confirms or overrides: it never changes an address by itself.

The distance is the optimal string alignment distance (Levenshtein with adjacent
transpositions, so "gmial" is one step from "gmail"). Short domains need an exact match: "aol.com"
is one step from real domains of other companies. Domains that are real and close to a common one
("mail.com", "ymail.com") are never "corrected". ``WAGTAIL_GUESTPAY_EMAIL_TYPO_DOMAINS`` replaces
the list of common domains.
"""

from django.utils.translation import gettext as _

from ..conf import guestpay_settings

# Common mail domains, most used first (the first of two equally close candidates wins).
COMMON_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "me.com",
    "mac.com",
    "googlemail.com",
    "protonmail.com",
    "proton.me",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "hotmail.fr",
    "yahoo.fr",
    "orange.fr",
    "wanadoo.fr",
    "laposte.net",
    "free.fr",
    "sfr.fr",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "ukr.net",
    "i.ua",
    "mail.ru",
    "yandex.ru",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bigpond.com",
    "libero.it",
    "outlook.fr",
    "live.fr",
    "hotmail.de",
    "hotmail.it",
    "hotmail.es",
    "yahoo.de",
    "yahoo.es",
    "yahoo.it",
)

# Real domains close to a common one: never suggested away.
KNOWN_DOMAINS = (
    "mail.com",
    "email.com",
    "ymail.com",
    "gmx.com",
    "gmx.fr",
    "cloud.com",
    "live.de",
    "live.it",
    "live.nl",
    "outlook.de",
    "outlook.es",
    "outlook.it",
    "hotmail.nl",
    "mail.ua",
    "inbox.ru",
    "bk.ru",
    "list.ru",
    "yahoo.ca",
    "yahoo.in",
    "rocketmail.com",
    "aim.com",
    "zoho.com",
    "tutanota.com",
    "fastmail.com",
    "hey.com",
    "pm.me",
)

# Country codes typed for "com" often enough that "gmail.co" is a typo, not Colombia.
COM_TYPOS = {"co", "cm", "om", "cp"}

# Top-level domains that do not exist but are often typed for one that does.
TLD_TYPOS = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "vom": "com",
    "xom": "com",
    "comm": "com",
    "coom": "com",
    "cim": "com",
    "cpm": "com",
    "nte": "net",
    "nett": "net",
    "ent": "net",
    "ogr": "org",
    "orgg": "org",
}


def common_domains():
    return tuple(guestpay_settings.EMAIL_TYPO_DOMAINS or COMMON_DOMAINS)


def distance(a, b, limit=3):
    """Optimal string alignment distance between ``a`` and ``b`` (capped at ``limit``)."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2 = None
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if (
                previous2 is not None
                and i > 1
                and j > 1
                and char_a == b[j - 2]
                and a[i - 2] == char_b
            ):
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return min(previous[-1], limit)


def allowed_distance(domain):
    """How far a typed domain may be from ``domain`` to be taken for a typo of it."""
    if len(domain) >= 11:
        return 2
    if len(domain) >= 8:
        return 1
    return 0


def suggest_domain(domain):
    """The common domain ``domain`` is probably a typo of, or ''."""
    domain = (domain or "").strip().lower().rstrip(".")
    if not domain or "." not in domain:
        return ""
    domains = common_domains()
    if domain in domains or domain in KNOWN_DOMAINS:
        return ""
    name, _dot, tld = domain.rpartition(".")
    best, best_distance = "", None
    for candidate in domains:
        allowed = allowed_distance(candidate)
        if not allowed or _other_country(name, tld, candidate):
            continue
        found = distance(domain, candidate, limit=allowed + 1)
        if found <= allowed and (best_distance is None or found < best_distance):
            best, best_distance = candidate, found
    if best:
        return best
    if tld in TLD_TYPOS and name:
        return f"{name}.{TLD_TYPOS[tld]}"
    return ""


def _other_country(name, tld, candidate):
    """ "hotmail.ca" is Canada's Hotmail, not a typo of "hotmail.com"."""
    candidate_name, _dot, candidate_tld = candidate.rpartition(".")
    return (
        name == candidate_name and tld != candidate_tld and len(tld) == 2 and tld not in COM_TYPOS
    )


def suggest_email(email):
    """``email`` with its domain fixed when the domain looks mistyped, or ''."""
    local, at, domain = (email or "").strip().rpartition("@")
    if not at or not local:
        return ""
    fixed = suggest_domain(domain)
    return f"{local}@{fixed}" if fixed else ""


def client_config():
    """What the progressive hint in the browser (email-typo.js) needs: the same lists, and its
    words in the current language."""
    return {
        "domains": list(common_domains()),
        "known": list(KNOWN_DOMAINS),
        "tlds": TLD_TYPOS,
        "com": sorted(COM_TYPOS),
        "question": _("Did you mean %(suggestion)s?"),
        "use": _("Use %(suggestion)s"),
    }
