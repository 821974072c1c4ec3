from django.core.exceptions import SuspiciousOperation


class NotificationRejected(SuspiciousOperation):
    """A notification that must not change anything: answered with a 4xx."""

    status_code = 400


class InvalidSignature(NotificationRejected):
    """The notification's signature is missing, malformed, stale or does not verify."""


class MalformedNotification(NotificationRejected):
    """The notification's signature verified (or the protocol has none) but its body is unusable."""


class VerificationUnavailable(Exception):
    """The notification cannot be verified right now (the provider's verification API or
    certificate host is unreachable). Answered 503 so that the provider delivers it again; it is
    neither applied nor kept as rejected."""

    status_code = 503


class ProviderError(Exception):
    """The provider's API failed or answered something unusable; the caller may retry later."""

    def __init__(self, message, *, retryable=True):
        super().__init__(message)
        self.retryable = retryable
