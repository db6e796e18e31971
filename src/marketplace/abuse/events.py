"""Events of abuse protection: staff changing IP rules or lifting a block. Staff-only
(no company receives them); they exist so that these staff actions reach the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from marketplace.core.events import DomainEvent

# Blocks live in Redis under their address, not as rows with ids: an address's events
# share one aggregate id derived from it.
_ADDRESS_NAMESPACE = uuid.UUID("8f6f1f8e-2f4a-4c55-9d3b-6a1d1c2b7e10")


def address_id(address: str) -> uuid.UUID:
    return uuid.uuid5(_ADDRESS_NAMESPACE, address)


class IpRuleEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "ip_rule"
    rule_id: uuid.UUID
    cidr: str
    action: str
    note: str
    expires_at: datetime | None

    def aggregate_id(self) -> uuid.UUID:
        return self.rule_id

    def company_ids(self) -> list[uuid.UUID]:
        return []


class IpRuleCreated(IpRuleEvent):
    type: ClassVar[str] = "ip_rule.created"


class IpRuleDeleted(IpRuleEvent):
    type: ClassVar[str] = "ip_rule.deleted"


class IpBlockLifted(DomainEvent):
    type: ClassVar[str] = "ip_block.lifted"
    aggregate_type: ClassVar[str] = "ip_block"
    address: str
    reason: str

    def aggregate_id(self) -> uuid.UUID:
        return address_id(self.address)

    def company_ids(self) -> list[uuid.UUID]:
        return []
