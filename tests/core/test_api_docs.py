"""The API's own pages work with no internet: every asset they load comes from the app."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

APP_ORIGIN = "http://testserver"
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s'"<>()]+""")


class _Links(HTMLParser):
    """Every address an HTML page makes the browser load (src, href) and every absolute
    URL written anywhere in it (inline scripts configure the bundles with URLs)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.loaded.append(value)


def _page_links(html: str) -> tuple[list[str], list[str]]:
    parser = _Links()
    parser.feed(html)
    return parser.loaded, ABSOLUTE_URL.findall(html)


@pytest.mark.parametrize(
    ("path", "marker"),
    [("/api/docs", "SwaggerUIBundle"), ("/api/redoc", "<redoc")],
)
async def test_docs_page_loads_everything_from_the_app(
    client: httpx.AsyncClient, path: str, marker: str
) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert marker in page.text
    loaded, absolute = _page_links(page.text)

    assert absolute == [], f"{path} names hosts other than the app: {absolute}"
    assert "fonts.googleapis" not in page.text
    scripts = [link for link in loaded if link.endswith(".js")]
    assert scripts, f"{path} loads no script of its own"
    for link in loaded:
        url = urljoin(f"{APP_ORIGIN}{path}", link)
        assert urlsplit(url).netloc == "testserver", url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
        if link.endswith(".js"):
            assert "javascript" in asset.headers["content-type"], url
        if link.endswith(".css"):
            assert asset.headers["content-type"].startswith("text/css"), url


async def test_docs_content_security_policy_allows_no_other_host(
    client: httpx.AsyncClient,
) -> None:
    """A browser would refuse anything the page reached for outside the app, exactly as
    it would fail with no internet."""
    for path in ("/api/docs", "/api/redoc"):
        policy = (await client.get(path)).headers["content-security-policy"]
        assert "http" not in policy, policy
        assert "script-src 'self' 'unsafe-inline';" in policy


async def test_swagger_ui_loads_the_app_schema(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    assert "url: '/api/openapi.json'" in page.text
    assert '"validatorUrl": null' in page.text
    schema = await client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert "/api/docs-assets" not in str(schema.json()["paths"])


async def test_root_leads_a_person_to_the_api_docs(client: httpx.AsyncClient) -> None:
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/api/docs"
    followed = await client.get("/", follow_redirects=True)
    assert followed.status_code == 200
    assert "SwaggerUIBundle" in followed.text


async def test_unknown_paths_are_still_problems(client: httpx.AsyncClient) -> None:
    for path in ("/missing", "/api/docs-assets/missing.js"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
