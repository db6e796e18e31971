"""HTTP for catalog search: `GET /products` and `GET /products/facets` (public)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from marketplace.catalog.search import service
from marketplace.catalog.search.errors import InvalidAttributeFilter
from marketplace.catalog.search.schemas import (
    ProductFacets,
    ProductFilters,
    ProductSearchPage,
    ProductSearchParams,
)
from marketplace.companies.deps import header_company_id, resolve_actor
from marketplace.companies.errors import CompanyRequired
from marketplace.companies.permissions import Action
from marketplace.core.cache import Cache
from marketplace.core.deps import CacheDep, ReadStatementsSessionDep, SessionDep, SettingsDep
from marketplace.core.middleware.public_cache import CachedRead, Missed, missed_key, route_of
from marketplace.identity.deps import OptionalPrincipal

ATTRIBUTE_PARAMETER_PREFIX = "attr."
# Responses differ by who asks (a buyer's list prices): shared caches must key on these.
VARY = "Authorization, X-API-Key, X-Company-ID, Cookie"

search_router = APIRouter(prefix="/products", tags=["catalog search"])


def cached_public_reads(api_prefix: str, cache_ttl_seconds: float) -> list[CachedRead]:
    """Search pages and facet sets answered from the cache before routing, with
    the bytes and headers `search_products` and `product_facets` send anonymous visitors."""
    products = re.escape(f"{api_prefix}{search_router.prefix}")

    async def cached_page(
        cache: Cache, match: re.Match[str], query: bytes
    ) -> bytes | Missed | None:
        params = _parsed(ProductSearchParams, query)
        if params is None:
            return None
        return await service.cached_public_page(cache, params, cache_ttl_seconds=cache_ttl_seconds)

    async def cached_facets(
        cache: Cache, match: re.Match[str], query: bytes
    ) -> bytes | Missed | None:
        params = _parsed(ProductFilters, query)
        if params is None:
            return None
        return await service.cached_public_facets(
            cache, params, cache_ttl_seconds=cache_ttl_seconds
        )

    def generation(match: re.Match[str], query: bytes) -> str | None:
        # Both lookups read the entries' generation first (when the cache is on): read
        # ahead at the edge, along with the address's verdict (`PrefetchedCache`).
        return service.GENERATION_KEY if cache_ttl_seconds > 0 else None

    return [
        CachedRead(
            route=route_of(search_router, search_products),
            pattern=re.compile(products),
            lookup=cached_page,
            headers=(("vary", VARY),),
            first_key=generation,
        ),
        CachedRead(
            route=route_of(search_router, product_facets),
            pattern=re.compile(products + "/facets"),
            lookup=cached_facets,
            first_key=generation,
        ),
    ]


Params = TypeVar("Params", bound=ProductFilters)


def _parsed(model: type[Params], query: bytes) -> Params | None:
    """The parameters as the route's `Query()` model reads them, for plain queries only:
    each name once (the route takes the last of repeated ones) and no attribute filters
    (read from the raw query by `attribute_pairs`). None for anything else, and for
    invalid values, which the route answers with its 422."""
    items = QueryParams(query).multi_items()
    names = [name for name, _value in items]
    if len(set(names)) != len(names) or any(
        name == "attribute" or name.startswith(ATTRIBUTE_PARAMETER_PREFIX) for name in names
    ):
        return None
    try:
        return model.model_validate(dict(items))
    except ValidationError:
        return None


async def buyer_company(
    session: SessionDep,
    principal: OptionalPrincipal,
    x_company_id: Annotated[
        str | None,
        Header(description="The buyer company whose price lists apply (optional with one)."),
    ] = None,
) -> uuid.UUID | None:
    """The company whose price lists price the results, if any. Anonymous callers, and
    users in several companies who name none, see public prices; naming a company one does
    not belong to is a 404 as everywhere else."""
    if principal is None:
        return None
    company_id = header_company_id(x_company_id)
    try:
        actor = await resolve_actor(session, principal, company_id)
    except CompanyRequired:
        return None
    return actor.company_id if actor.can(Action.CATALOG_READ) else None


BuyerCompany = Annotated[uuid.UUID | None, Depends(buyer_company, scope="function")]


def attribute_pairs(request: Request, params: ProductFilters) -> list[tuple[str, str]]:
    """`attr.<key>=<value>` parameters and `attribute=<key>:<value>` values, in order."""
    pairs = [
        (name.removeprefix(ATTRIBUTE_PARAMETER_PREFIX), value)
        for name, value in request.query_params.multi_items()
        if name.startswith(ATTRIBUTE_PARAMETER_PREFIX)
    ]
    for written in params.attribute:
        key, separator, value = written.partition(":")
        if not separator:
            raise InvalidAttributeFilter(
                limit=service.MAX_ATTRIBUTE_FILTERS,
                errors=[
                    {
                        "loc": ["query", "attribute"],
                        "msg": "expected key:value",
                        "type": "value_error",
                    }
                ],
            )
        pairs.append((key, value))
    return pairs


@search_router.get("", response_model=ProductSearchPage, summary="Search the catalog")
async def search_products(
    request: Request,
    session: ReadStatementsSessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    params: Annotated[ProductSearchParams, Query()],
    buyer_id: BuyerCompany,
) -> Response:
    """Visible products (active, not blocked, verified supplier) matching the words and
    filters, one keyset page at a time. Filter on attributes with `attr.<key>=<value>`.
    A signed-in buyer sees `your_price` from its company's price lists; nobody else does."""
    result = await service.search_products(
        session,
        cache,
        params,
        attribute_pairs(request, params),
        buyer_id=buyer_id,
        cache_ttl_seconds=settings.catalog_search_cache_ttl_seconds,
        missed_key=missed_key(request),
    )
    # A buyer's page is encoded once: a returned model would be dumped to a dict,
    # validated against `response_model` again and encoded.
    body = result.body if isinstance(result, service.RenderedPage) else result.model_dump_json()
    return Response(body, media_type="application/json", headers={"Vary": VARY})


@search_router.get("/facets", response_model=ProductFacets, summary="Facet counts of a search")
async def product_facets(
    request: Request,
    session: ReadStatementsSessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    params: Annotated[ProductFilters, Query()],
) -> Response:
    """Counts per category (including sub-categories), supplier country and price bucket
    for the same words and filters as `GET /products`; each facet ignores its own filter.
    Computed over at most 10,000 matches (`is_exact` says whether all were counted)."""
    rendered = await service.product_facets(
        session,
        cache,
        params,
        attribute_pairs(request, params),
        cache_ttl_seconds=settings.catalog_search_cache_ttl_seconds,
        missed_key=missed_key(request),
    )
    return Response(rendered.body, media_type="application/json")
