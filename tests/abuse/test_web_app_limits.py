"""The app's page and static files, served at `/`, do not spend the API's per-address
budget: one page load fetches dozens of files before the app makes its first call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from marketplace.settings import Settings
from tests.abuse.conftest import Sessions, client_from, running

BUNDLE = "/_expo/static/js/web/entry-abc123.js"


def web_build(directory: Path) -> Path:
    (directory / "_expo" / "static" / "js" / "web").mkdir(parents=True)
    (directory / "_expo" / "static" / "js" / "web" / "entry-abc123.js").write_text("run();")
    (directory / "assets").mkdir()
    (directory / "assets" / "logo.png").write_bytes(b"\x89PNG")
    (directory / "index.html").write_text("<!DOCTYPE html><div id='root'></div>")
    (directory / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    return directory


async def test_page_and_static_loads_do_not_count_against_the_api_limit(
    abuse_settings: Callable[..., Settings], sessions: Sessions, tmp_path: Path
) -> None:
    settings = abuse_settings(
        rate_limit_anonymous="3/hour", web_app_dir=web_build(tmp_path / "dist")
    )
    async with running(settings) as app, client_from(app, "198.51.100.30") as client:
        for _ in range(5):
            for path in ("/", "/search?q=bolt", BUNDLE, "/assets/logo.png", "/favicon.ico"):
                response = await client.get(path)
                assert response.status_code == 200, path
                assert "ratelimit-limit" not in response.headers, path
            docs_script = await client.get("/api/docs-assets/swagger-ui-bundle.js")
            assert docs_script.status_code == 200
            assert "ratelimit-limit" not in docs_script.headers

        # The API's whole budget is still there for the app's calls.
        statuses = [(await client.get("/api/v1/categories")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
