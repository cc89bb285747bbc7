"""Node-to-node HTTP: RFC 9421 message signatures (Ed25519) and RFC 9530 Content-Digest."""

from lunan.net.digest import DigestError, check_content_digest, content_digest
from lunan.net.signatures import (
    COVERED_COMPONENTS,
    REASONS,
    REQUIRED_COMPONENTS,
    ReplayCache,
    SignatureError,
    SignatureInput,
    sign_request,
    signature_base,
    verify_request,
)

__all__ = [
    "COVERED_COMPONENTS",
    "REASONS",
    "REQUIRED_COMPONENTS",
    "DigestError",
    "ReplayCache",
    "SignatureError",
    "SignatureInput",
    "check_content_digest",
    "content_digest",
    "sign_request",
    "signature_base",
    "verify_request",
]
