"""Verifying PayPal webhook deliveries, either way PayPal documents.

Every delivery carries ``PAYPAL-TRANSMISSION-ID``, ``-TIME``, ``-SIG`` (base64), ``PAYPAL-CERT-URL``
and ``PAYPAL-AUTH-ALGO``. First the transmission time must lie within a tolerance window (by
default the 3 days over which PayPal retries a delivery, whose time may be the first attempt's).
Then:

* **api**: ``POST /v1/notifications/verify-webhook-signature`` with the headers, our webhook id
  and the event; PayPal answers ``SUCCESS`` or ``FAILURE``. The raw body is embedded verbatim
  as ``webhook_event`` so that PayPal checks the bytes it signed, not our re-serialisation.
* **offline**: the signed string is ``transmission_id|transmission_time|webhook_id|crc32`` where
  crc32 is the unsigned decimal CRC-32 of the raw body (PayPal-Python-SDK
  ``paypalrestsdk/notifications.py``, ``WebhookEvent._get_expected_sig``); the signature is RSA
  PKCS#1 v1.5 with SHA-256 (``SHA256withRSA``) by the certificate at ``PAYPAL-CERT-URL``. That
  certificate is fetched only over https from a ``*.paypal.com`` host, cached, and must chain to
  a trusted root (certifi's bundle plus the DigiCert roots PayPal's SDK trusts, shipped in
  ``trust_roots.pem``, unless ``WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS`` names another file),
  be valid now and be issued to a ``*.paypal.com`` name.
"""

import base64
import binascii
import functools
import hashlib
import json
import logging
import os
import re
import warnings
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature as BadRSASignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtensionOID, NameOID
from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError
from django.core.cache import caches

from ...conf import guestpay_settings
from ..exceptions import InvalidSignature, VerificationUnavailable

logger = logging.getLogger(__name__)

AUTH_ALGO = "SHA256withRSA"
HEADERS = {
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "cert_url": "PAYPAL-CERT-URL",
    "auth_algo": "PAYPAL-AUTH-ALGO",
}
CERT_PATH_PREFIX = "/v1/notifications/certs/"
CERT_CACHE_SECONDS = 24 * 3600
MAX_CERT_BYTES = 64 * 1024
# How far ahead of our clock a transmission time may be.
FUTURE_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Transmission:
    """The PAYPAL-* headers of one delivery."""

    transmission_id: str
    transmission_time: str
    transmission_sig: str
    cert_url: str
    auth_algo: str

    @classmethod
    def from_notification(cls, notification):
        values = {name: notification.header(header) for name, header in HEADERS.items()}
        missing = [HEADERS[name] for name, value in values.items() if not value]
        if missing:
            raise InvalidSignature("Missing PayPal signature headers: " + ", ".join(missing) + ".")
        if any(len(value) > 2048 for value in values.values()):
            raise InvalidSignature("PayPal signature header too long.")
        return cls(**{name: value.strip() for name, value in values.items()})

    def check_time(self, now=None, tolerance=None):
        """Refuse a transmission time more than ``tolerance`` seconds old (None: any age), or
        more than :data:`FUTURE_SKEW` ahead of ``now``.

        The time is part of the signed string, so it cannot be changed without the signature
        failing. PayPal retries a delivery for 3 days and does not document a fresh time per
        retry, and a replayed delivery changes nothing anyway (event ids dedupe, transitions
        guard), so the default window covers the retries; checked first, it spares a
        verification call for a delivery older than that.
        """
        if tolerance is None:
            tolerance = guestpay_settings.PAYPAL_WEBHOOK_TOLERANCE
        now = now or datetime.now(UTC)
        try:
            sent = datetime.fromisoformat(self.transmission_time)
        except ValueError as exc:
            raise InvalidSignature("Unreadable PAYPAL-TRANSMISSION-TIME.") from exc
        if sent.tzinfo is None:
            raise InvalidSignature("PAYPAL-TRANSMISSION-TIME has no time zone.")
        if sent - now > FUTURE_SKEW:
            raise InvalidSignature("PAYPAL-TRANSMISSION-TIME is in the future.")
        if tolerance is not None and now - sent > timedelta(seconds=tolerance):
            raise InvalidSignature("PAYPAL-TRANSMISSION-TIME is outside the tolerance window.")


def crc32(body):
    """Unsigned decimal CRC-32 of the raw body, as PayPal's signed string has it."""
    return str(zlib.crc32(body) & 0xFFFFFFFF)


def signed_string(transmission_id, transmission_time, webhook_id, body):
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc32(body)}"


# The API way --------------------------------------------------------------------------------
def verification_payload(transmission, webhook_id, body_text):
    """The verify-webhook-signature request as JSON text, the event embedded byte for byte."""
    fields = {
        "auth_algo": transmission.auth_algo,
        "cert_url": transmission.cert_url,
        "transmission_id": transmission.transmission_id,
        "transmission_sig": transmission.transmission_sig,
        "transmission_time": transmission.transmission_time,
        "webhook_id": webhook_id,
    }
    head = json.dumps(fields)[:-1]  # without the closing brace
    return f'{head}, "webhook_event": {body_text}}}'


def verify_with_api(api, transmission, webhook_id, body_text):
    from .api import PayPalAPIError

    try:
        status, data = api.verify_webhook_signature(
            verification_payload(transmission, webhook_id, body_text)
        )
    except PayPalAPIError as exc:
        if exc.retryable:
            raise VerificationUnavailable(
                f"PayPal could not verify the signature now: {exc}"
            ) from exc
        raise InvalidSignature(f"PayPal refused to verify the signature: {exc}") from exc
    if status != 200:
        raise InvalidSignature(f"PayPal's signature verification answered HTTP {status}.")
    if data.get("verification_status") != "SUCCESS":
        raise InvalidSignature("PayPal says the signature does not verify.")


# The offline way ----------------------------------------------------------------------------
def check_cert_url(url):
    """Only ``https://<something>.paypal.com/v1/notifications/certs/...`` is ever fetched."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidSignature("Unreadable PAYPAL-CERT-URL.") from exc
    host = (parts.hostname or "").lower().rstrip(".")
    if (
        parts.scheme != "https"
        or parts.username is not None
        or parts.password is not None
        or port not in (None, 443)
        or not host.endswith(".paypal.com")
        or not parts.path.startswith(CERT_PATH_PREFIX)
        or "/.." in parts.path
    ):
        raise InvalidSignature("PAYPAL-CERT-URL is not a PayPal certificate URL; not fetched.")
    return parts


def verify_offline(provider, transmission, webhook_id, body, *, now=None):
    if transmission.auth_algo != AUTH_ALGO:
        raise InvalidSignature(f"Unsupported PAYPAL-AUTH-ALGO {transmission.auth_algo[:40]!r}.")
    now = now or datetime.now(UTC)
    chain = certificate_chain(provider, transmission.cert_url)
    check_chain(chain, now)
    try:
        signature = base64.b64decode(transmission.transmission_sig, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("PAYPAL-TRANSMISSION-SIG is not base64.") from exc
    message = signed_string(
        transmission.transmission_id, transmission.transmission_time, webhook_id, body
    )
    verify_rsa_sha256(chain[0], signature, message.encode("utf-8"))


def verify_rsa_sha256(certificate, signature, message):
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignature("PayPal's certificate does not hold an RSA key.")
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except BadRSASignature as exc:
        raise InvalidSignature("The PayPal signature does not verify.") from exc


def certificate_chain(provider, cert_url):
    """The certificates served at ``cert_url`` (leaf first), from the cache or fetched."""
    parts = check_cert_url(cert_url)
    cache = caches[guestpay_settings.CACHE]
    key = "wagtail_guestpay:paypal:cert:" + hashlib.sha256(cert_url.encode()).hexdigest()
    pem = cache.get(key)
    if pem is None:
        pem = _fetch_pem(provider, cert_url, parts)
        chain = _load_chain(pem)
        expires_in = (chain[0].not_valid_after_utc - datetime.now(UTC)).total_seconds()
        if expires_in > 0:
            cache.set(key, pem, min(CERT_CACHE_SECONDS, int(expires_in)))
        return chain
    return _load_chain(pem)


def _fetch_pem(provider, cert_url, parts):
    # Tests and proxies may route PayPal's certificate host elsewhere; the URL's host was
    # checked above either way.
    base = provider.endpoint("certs", "")
    url = base.rstrip("/") + parts.path if base else cert_url
    try:
        with provider.http_client(follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise VerificationUnavailable(
            f"PayPal's certificate could not be fetched ({type(exc).__name__})."
        ) from exc
    if response.status_code != 200:
        if response.status_code >= 500:
            raise VerificationUnavailable(
                f"PayPal's certificate host answered HTTP {response.status_code}."
            )
        raise InvalidSignature(f"No certificate at PAYPAL-CERT-URL (HTTP {response.status_code}).")
    if len(response.content) > MAX_CERT_BYTES:
        raise InvalidSignature("The certificate at PAYPAL-CERT-URL is too large.")
    return response.content.decode("ascii", errors="replace")


def _load_chain(pem):
    try:
        chain = x509.load_pem_x509_certificates(pem.encode("ascii", errors="replace"))
    except ValueError as exc:
        raise InvalidSignature("PAYPAL-CERT-URL does not serve a PEM certificate.") from exc
    return chain


def paypal_names(certificate):
    """The certificate's DNS names under paypal.com (SAN, else the common name)."""
    try:
        san = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        names = san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [
            attr.value for attr in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
    return [
        name
        for name in names
        if isinstance(name, str) and name.lower().rstrip(".").endswith(".paypal.com")
    ]


def check_chain(chain, now):
    """The leaf is PayPal's, valid at ``now`` and chains to a trusted root."""
    leaf, intermediates = chain[0], chain[1:]
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise InvalidSignature("PayPal's certificate is expired or not yet valid.")
    names = paypal_names(leaf)
    if not names:
        raise InvalidSignature("The certificate at PAYPAL-CERT-URL is not issued to PayPal.")
    verifier = (
        PolicyBuilder().store(trust_store()).time(now).build_server_verifier(DNSName(names[0]))
    )
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError as exc:
        raise InvalidSignature(
            f"PayPal's certificate does not chain to a trusted root: {exc}"
        ) from exc


HERE = os.path.dirname(os.path.abspath(__file__))
# The DigiCert root and intermediate PayPal's SDK builds its chain from (certifi dropped the root).
SHIPPED_ROOTS = os.path.join(HERE, "trust_roots.pem")
# The certificate of PayPal's SDK webhook test vector, and a time within its validity: the trust
# store must be able to build its chain (system check E012).
SDK_EXAMPLE_CERT = os.path.join(HERE, "sdk_example_cert.pem")
SDK_EXAMPLE_TIME = datetime(2016, 6, 1, tzinfo=UTC)


def trust_paths():
    """The PEM files of the trust roots: the configured one, else certifi's and ours."""
    path = guestpay_settings.PAYPAL_CERT_TRUST_ROOTS
    if path:
        return (path,)
    import certifi

    return (certifi.where(), SHIPPED_ROOTS)


def trust_store():
    paths = trust_paths()
    try:
        stamps = tuple((path, os.stat(path).st_mtime) for path in paths)
    except OSError as exc:
        raise VerificationUnavailable(
            "The trust roots for PayPal's certificate cannot be read (see "
            "WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS)."
        ) from exc
    return _load_store(stamps)


def builds_sdk_example_chain():
    """True when the trust store can build the chain of PayPal's SDK example certificate (as
    PayPal's certificate URL serves it: the leaf alone), at a time it was valid."""
    with open(SDK_EXAMPLE_CERT, "rb") as handle:
        leaf = x509.load_pem_x509_certificate(handle.read())
    names = paypal_names(leaf)
    verifier = (
        PolicyBuilder()
        .store(trust_store())
        .time(SDK_EXAMPLE_TIME)
        .build_server_verifier(DNSName(names[0]))
    )
    try:
        verifier.verify(leaf, [])
    except VerificationError:
        return False
    return True


PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@functools.lru_cache(maxsize=4)
def _load_store(stamps):
    """The roots in PEM bundles (``stamps``: (path, mtime) pairs), one by one: a root that this
    cryptography version refuses (certifi ships one with a negative serial number) is left out,
    not the whole bundle."""
    roots = []
    for path, _mtime in stamps:
        with open(path, "rb") as handle:
            data = handle.read()
        for block in PEM_BLOCK.findall(data):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                try:
                    roots.append(x509.load_pem_x509_certificate(block))
                except ValueError:
                    continue
    if not roots:
        raise VerificationUnavailable("No trust roots for PayPal's certificate were found.")
    return Store(roots)
