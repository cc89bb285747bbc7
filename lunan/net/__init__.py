"""Node-to-node HTTP: RFC 9421 message signatures (Ed25519) and RFC 9530 Content-Digest."""

from lunan.net.digest import DigestError, check_content_digest, content_digest
from lunan.net.signatures import (
    COVERED_COMPONENTS,
    REASONS,
    REQUIRED_COMPONENTS,
    RESPONSE_COMPONENTS,
    ReplayCache,
    SignatureError,
    SignatureInput,
    sign_request,
    sign_response,
    signature_base,
    verify_request,
    verify_response,
)

__all__ = [
    "COVERED_COMPONENTS",
    "REASONS",
    "REQUIRED_COMPONENTS",
    "RESPONSE_COMPONENTS",
    "DigestError",
    "ReplayCache",
    "SignatureError",
    "SignatureInput",
    "check_content_digest",
    "content_digest",
    "sign_request",
    "sign_response",
    "signature_base",
    "verify_request",
    "verify_response",
]
