"""The alliance: members, their keys, the witness quorum and the rotating chair terms.

`lunan.alliance.config` reads, checks, signs and verifies the alliance file;
`lunan.alliance.cli` is the `lunan alliance …` sub-command (imported separately, so that
library users do not load Typer).
"""

from lunan.alliance.config import (
    Alliance,
    AllianceError,
    ChairTerm,
    Member,
    Signature,
    SignedAlliance,
    Verified,
    add_member,
    body_digest,
    check_complete,
    check_lists_node,
    load,
    next_version,
    open_for_node,
    save,
    sign,
    verify,
    verify_chain,
    verify_detail,
)

__all__ = [
    "Alliance",
    "AllianceError",
    "ChairTerm",
    "Member",
    "Signature",
    "SignedAlliance",
    "Verified",
    "add_member",
    "body_digest",
    "check_complete",
    "check_lists_node",
    "load",
    "next_version",
    "open_for_node",
    "save",
    "sign",
    "verify",
    "verify_chain",
    "verify_detail",
]
