from .access import AccessGrant, AccessLink, GuestAccount
from .attention import Attention
from .claims import ClaimKind, EmailClaim
from .contacts import Contact
from .coupons import Coupon, CouponKind, Redemption, RedemptionStatus, redemption_of
from .emails import OutboundEmail
from .offers import Offer, OfferProduct
from .orders import (
    Order,
    OrderSource,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderReference,
    hash_token,
)
from .pages import OfferPage, PaymentResultPage
from .providers import ProviderAccount
from .receipts import Receipt, ReceiptCounter, ReceiptSettings, receipt_of
from .refunds import Refund, RefundStatus
from .registrations import PendingRegistration
from .signin import SignInCode
from .site_settings import (
    MerchantContacts,
    MerchantContactsTranslation,
    RegistrationField,
    RegistrationSettings,
    RegistrationTranslation,
)

__all__ = [
    "AccessGrant",
    "AccessLink",
    "Attention",
    "ClaimKind",
    "Contact",
    "Coupon",
    "CouponKind",
    "EmailClaim",
    "GuestAccount",
    "MerchantContacts",
    "MerchantContactsTranslation",
    "Offer",
    "OfferPage",
    "OfferProduct",
    "Order",
    "OrderSource",
    "OrderStatus",
    "OutboundEmail",
    "Payment",
    "PaymentEvent",
    "PaymentResultPage",
    "PaymentStatus",
    "PendingRegistration",
    "ProviderAccount",
    "ProviderReference",
    "Receipt",
    "ReceiptCounter",
    "ReceiptSettings",
    "Redemption",
    "RedemptionStatus",
    "Refund",
    "RefundStatus",
    "RegistrationField",
    "RegistrationSettings",
    "RegistrationTranslation",
    "SignInCode",
    "hash_token",
    "receipt_of",
    "redemption_of",
]
