"""Who may do what: one table from role to actions, one from API-key scope to actions.

Every authorisation decision goes through `can()`; nothing else compares roles.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    PURCHASER = "purchaser"
    SALES = "sales"
    VIEWER = "viewer"


class Scope(StrEnum):
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    RFQS_READ = "rfqs:read"
    RFQS_WRITE = "rfqs:write"
    WEBHOOKS_MANAGE = "webhooks:manage"


class Action(StrEnum):
    COMPANY_READ = "company:read"  # private company data: members, addresses, settings
    COMPANY_UPDATE = "company:update"
    COMPANY_VERIFY_SUBMIT = "company:verify-submit"
    MEMBERS_READ = "members:read"
    MEMBERS_MANAGE = "members:manage"
    OWNERS_MANAGE = "owners:manage"  # grant or take the owner role
    API_KEYS_MANAGE = "api-keys:manage"
    ADDRESSES_MANAGE = "addresses:manage"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_BUY = "orders:buy"
    ORDERS_APPROVE = "orders:approve"
    ORDERS_FULFIL = "orders:fulfil"
    RFQS_READ = "rfqs:read"
    RFQS_BUY = "rfqs:buy"
    RFQS_QUOTE = "rfqs:quote"
    WEBHOOKS_MANAGE = "webhooks:manage"
    # Conversation threads, by what they are about: an order, or an RFQ or its quotes.
    ORDER_MESSAGES_READ = "order-messages:read"
    ORDER_MESSAGES_POST = "order-messages:post"
    RFQ_MESSAGES_READ = "rfq-messages:read"
    RFQ_MESSAGES_POST = "rfq-messages:post"
    AUDIT_READ = "audit:read"  # the company's audit log


_READ = frozenset(
    {
        Action.COMPANY_READ,
        Action.MEMBERS_READ,
        Action.CATALOG_READ,
        Action.ORDERS_READ,
        Action.RFQS_READ,
        Action.ORDER_MESSAGES_READ,
        Action.RFQ_MESSAGES_READ,
    }
)
# Every member but a viewer may write in the company's conversations.
_POST = frozenset({Action.ORDER_MESSAGES_POST, Action.RFQ_MESSAGES_POST})
_BUY = frozenset({Action.ORDERS_BUY, Action.RFQS_BUY})
_SELL = frozenset({Action.CATALOG_WRITE, Action.ORDERS_FULFIL, Action.RFQS_QUOTE})
_ADMINISTER = frozenset(
    {
        Action.COMPANY_UPDATE,
        Action.COMPANY_VERIFY_SUBMIT,
        Action.MEMBERS_MANAGE,
        Action.API_KEYS_MANAGE,
        Action.ADDRESSES_MANAGE,
        Action.ORDERS_APPROVE,
        Action.WEBHOOKS_MANAGE,
        Action.AUDIT_READ,
    }
)

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: _READ | _POST | _BUY | _SELL | _ADMINISTER | {Action.OWNERS_MANAGE},
    Role.ADMIN: _READ | _POST | _BUY | _SELL | _ADMINISTER,
    Role.PURCHASER: _READ | _POST | _BUY,
    Role.SALES: _READ | _POST | _SELL,
    Role.VIEWER: _READ,
}

# An API key acts for its company with exactly the actions of its scopes; no scope
# grants member, key or company administration, nor reading the audit log. The orders
# scopes cover threads about orders, the RFQ scopes threads about RFQs and quotes (read,
# or read and post).
SCOPE_ACTIONS: dict[Scope, frozenset[Action]] = {
    Scope.CATALOG_READ: frozenset({Action.CATALOG_READ}),
    Scope.CATALOG_WRITE: frozenset({Action.CATALOG_READ, Action.CATALOG_WRITE}),
    Scope.ORDERS_READ: frozenset({Action.ORDERS_READ, Action.ORDER_MESSAGES_READ}),
    Scope.ORDERS_WRITE: frozenset(
        {
            Action.ORDERS_READ,
            Action.ORDERS_BUY,
            Action.ORDERS_FULFIL,
            Action.ORDER_MESSAGES_READ,
            Action.ORDER_MESSAGES_POST,
        }
    ),
    Scope.RFQS_READ: frozenset({Action.RFQS_READ, Action.RFQ_MESSAGES_READ}),
    Scope.RFQS_WRITE: frozenset(
        {
            Action.RFQS_READ,
            Action.RFQS_BUY,
            Action.RFQS_QUOTE,
            Action.RFQ_MESSAGES_READ,
            Action.RFQ_MESSAGES_POST,
        }
    ),
    Scope.WEBHOOKS_MANAGE: frozenset({Action.WEBHOOKS_MANAGE}),
}


def role_can(role: Role, action: Action) -> bool:
    return action in ROLE_ACTIONS[role]


def roles_that_can(action: Action) -> frozenset[Role]:
    """Every role that may do `action`: who is told of what asks for it."""
    return frozenset(role for role in Role if role_can(role, action))


def scopes_can(scopes: frozenset[Scope], action: Action) -> bool:
    return any(action in SCOPE_ACTIONS[scope] for scope in scopes)
