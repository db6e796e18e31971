"""Entity tags for conditional writes (RFC 9110, sections 8.8.3 and 13.1.1).

A resource with a version number has the strong ETag `"<version>"`. `If-Match`
compares strongly: a weak tag (`W/"3"`) never matches, `*` matches any current
representation.
"""

from __future__ import annotations

import re

# One entity tag of a comma-separated list: optional weakness prefix, quoted opaque tag.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')


def version_etag(version: int) -> str:
    return f'"{version}"'


def if_match_allows(if_match: str, etag: str) -> bool:
    """Whether an `If-Match` header value lets a write on the representation whose
    current (strong) ETag is `etag` go ahead. A malformed header matches nothing."""
    if if_match.strip() == "*":
        return True
    position = 0
    while position < len(if_match):
        found = _ENTITY_TAG.match(if_match, position)
        if found is None:
            return False
        is_weak, opaque = found.group(1), found.group(2)
        if not is_weak and f'"{opaque}"' == etag:
            return True
        position = found.end()
    return False
