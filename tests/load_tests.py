"""Mixed traffic against a running marketplace with the demo data (Locust).

    ./scripts/run.sh        # the demo data, development sign-in code 000000
    .venv/bin/locust -f tests/load_tests.py --headless -u 20 -r 5 -t 30s \
        --host=http://127.0.0.1:8000

The mix, by weight of the tasks: browsing 70% (product detail, a listing page, a category
listing, the category tree), search 20% (a word from the catalog's product names, now
and then misspelt), cart and checkout 5% (a buyer puts products of two suppliers in the
cart and checks out with an `Idempotency-Key`), supplier updates 5% (a supplier changes
the lead time of one of its products). Anonymous visitors browse and search; the buyers
and suppliers are the demo accounts, signed in once per account with the development
code (`AUTH_OTP_BYPASS_CODE`, 000000 unless `LOCUST_OTP_CODE` says otherwise).

Settings, from the environment:
- `LOCUST_OTP_CODE`: the development sign-in code (default 000000);
- `LOCUST_BUYERS`, `LOCUST_SUPPLIERS`: comma-separated e-mail addresses of demo accounts
  (defaults: the owners of the three demo buyers and of two demo suppliers);
- `LOCUST_WAIT_SECONDS`: each user's pause between tasks, `low,high` (default `0.5,2`).

A simulated user checks out only while it holds one buyer account for itself (a cart
belongs to the account), and browses instead when every buyer is busy. Every answer other
than the expected status is a failure. The service's rate limits apply: from one address,
raise them for the run (`RATE_LIMIT_ANONYMOUS=100000/minute RATE_LIMIT_USER=100000/minute
./scripts/run.sh`), or the limit's 429s show as failures.
"""

from __future__ import annotations

import os
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from gevent.lock import BoundedSemaphore
from locust import HttpUser, between, task
from locust.clients import HttpSession

API = "/api/v1"
OTP_CODE = os.environ.get("LOCUST_OTP_CODE", "000000")
DEFAULT_BUYERS = "owner@hansen-bau.example,owner@brightline.example,owner@cafe-centrale.example"
DEFAULT_SUPPLIERS = "owner@nordbolt.example,owner@atelier-lumiere.example"
ADDRESS = {"line1": "Hafenstrasse 1", "city": "Hamburg", "postal_code": "20457", "country": "DE"}
CATALOG_PAGES = 3  # pages of 100 products sampled once, for ids, words and categories
MISSPELT_SHARE = 0.2


def _emails(variable: str, default: str) -> list[str]:
    return [email.strip() for email in os.environ.get(variable, default).split(",") if email]


def _expect(
    client: HttpSession, method: str, path: str, status: int, name: str, **request: Any
) -> Any:
    """One sign-in step: any other status is a Locust failure and stops the sign-in."""
    with client.request(
        method, f"{API}{path}", name=name, catch_response=True, **request
    ) as answer:
        if answer.status_code != status:
            answer.failure(f"{answer.status_code}: {answer.text[:200]}")
            raise RuntimeError(f"{name}: {path} answered {answer.status_code}")
        return answer.json()


@dataclass
class Account:
    """A demo account, signed in once for all the simulated users."""

    email: str
    kind: str  # "buyer" or "supplier"
    token: str | None = None
    company_id: str | None = None
    signing_in: BoundedSemaphore = field(default_factory=BoundedSemaphore)
    in_use: BoundedSemaphore = field(default_factory=BoundedSemaphore)

    def headers(self, client: HttpSession) -> dict[str, str]:
        with self.signing_in:
            if self.token is None:
                self._sign_in(client)
        assert self.token is not None
        assert self.company_id is not None
        return {"Authorization": f"Bearer {self.token}", "X-Company-ID": self.company_id}

    def _sign_in(self, client: HttpSession) -> None:
        challenge = _expect(
            client,
            "post",
            "/auth/otp/request",
            202,
            "sign-in: request code",
            json={"email": self.email},
        )["challenge_id"]
        token = _expect(
            client,
            "post",
            "/auth/otp/verify",
            200,
            "sign-in: verify code",
            json={"challenge_id": challenge, "code": OTP_CODE},
        )["access_token"]
        me = _expect(
            client,
            "get",
            "/me",
            200,
            "sign-in: me",
            headers={"Authorization": f"Bearer {token}"},
        )
        companies = [
            membership["company_id"]
            for membership in me["companies"]
            if membership["company_kind"] in (self.kind, "both")
        ]
        if not companies:
            raise RuntimeError(f"{self.email} belongs to no {self.kind} company")
        self.token, self.company_id = token, companies[0]

    def signed_out(self) -> None:
        """The token expired or was revoked: sign in again next time."""
        self.token = None


@dataclass
class Catalog:
    """What the simulated users pick from, read once from the public catalog."""

    products: list[dict[str, Any]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    loading: BoundedSemaphore = field(default_factory=BoundedSemaphore)

    def load(self, client: HttpSession) -> None:
        with self.loading:
            if self.products:
                return
            cursor: str | None = None
            for _ in range(CATALOG_PAGES):
                query: dict[str, str] = {"limit": "100", "in_stock": "true"}
                if cursor:
                    query["cursor"] = cursor
                answer = client.get(f"{API}/products", params=query, name="catalog sample")
                answer.raise_for_status()
                page = answer.json()
                self.products += page["items"]
                cursor = page.get("next_cursor")
                if cursor is None:
                    break
            if not self.products:
                raise RuntimeError("the catalog is empty: load the demo data first")
            self.words = sorted(
                {
                    word.lower()
                    for item in self.products
                    for word in item["name"].split()
                    if len(word) >= 4 and word.isalpha()
                }
            )
            self.categories = sorted(
                {item["category"]["slug"] for item in self.products if item.get("category")}
            )


BUYERS = [Account(email, "buyer") for email in _emails("LOCUST_BUYERS", DEFAULT_BUYERS)]
SUPPLIERS = [Account(email, "supplier") for email in _emails("LOCUST_SUPPLIERS", DEFAULT_SUPPLIERS)]
CATALOG = Catalog()


def _misspelt(word: str) -> str:
    """Two neighbouring letters swapped, as people type."""
    middle = len(word) // 2
    return word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]


def _wait_bounds() -> tuple[float, float]:
    """`LOCUST_WAIT_SECONDS="0.5,2"`: each user's pause between tasks (default 0.5 to 2 s)."""
    low, high = os.environ.get("LOCUST_WAIT_SECONDS", "0.5,2").split(",")
    return float(low), float(high)


class MarketplaceVisitor(HttpUser):
    wait_time = between(*_wait_bounds())

    def on_start(self) -> None:
        CATALOG.load(self.client)

    # --- browsing: 70 ----------------------------------------------------------------

    @task(35)
    def product_detail(self) -> None:
        product = random.choice(CATALOG.products)
        self.client.get(f"{API}/products/{product['id']}", name="browse: product detail")

    @task(15)
    def listing_page(self) -> None:
        self.client.get(f"{API}/products", params={"limit": "20"}, name="browse: newest")

    @task(15)
    def category_listing(self) -> None:
        if not CATALOG.categories:
            return self.listing_page()
        self.client.get(
            f"{API}/products",
            params={"category": random.choice(CATALOG.categories)},
            name="browse: category listing",
        )
        return None

    @task(5)
    def category_tree(self) -> None:
        self.client.get(f"{API}/categories", name="browse: category tree")

    # --- search: 20 ------------------------------------------------------------------

    @task(20)
    def search(self) -> None:
        word = random.choice(CATALOG.words)
        if random.random() < MISSPELT_SHARE and len(word) >= 5:
            word = _misspelt(word)
        self.client.get(f"{API}/products", params={"q": word}, name="search")

    # --- cart and checkout: 5 --------------------------------------------------------

    @task(5)
    def cart_and_checkout(self) -> None:
        account = next((buyer for buyer in BUYERS if buyer.in_use.acquire(blocking=False)), None)
        if account is None:  # every buyer account is in another user's hands
            return self.product_detail()
        try:
            self._checkout(account)
        finally:
            account.in_use.release()
        return None

    def _checkout(self, account: Account) -> None:
        headers = account.headers(self.client)
        by_supplier: dict[str, list[dict[str, Any]]] = {}
        for product in CATALOG.products:
            by_supplier.setdefault(product["supplier"]["id"], []).append(product)
        suppliers = random.sample(sorted(by_supplier), k=min(2, len(by_supplier)))
        self._expect("delete", f"{API}/cart", headers, "cart: empty", 200)
        for supplier in suppliers:
            product = random.choice(by_supplier[supplier])
            if not self._expect(
                "put",
                f"{API}/cart/lines/{product['id']}",
                headers,
                "cart: add line",
                200,
                json={"quantity": product["price_quantity"]},
                account=account,
            ):
                return
        self._expect(
            "post",
            f"{API}/checkout",
            {**headers, "Idempotency-Key": uuid.uuid4().hex},
            "checkout",
            201,
            json={"shipping_address": ADDRESS},
            account=account,
        )

    # --- supplier updates: 5 ---------------------------------------------------------

    @task(5)
    def supplier_update(self) -> None:
        account = random.choice(SUPPLIERS)
        headers = account.headers(self.client)
        with self.client.get(
            f"{API}/products/mine",
            params={"limit": "20"},
            headers=headers,
            name="supplier: own products",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                self._failed(answer, account)
                return
            items = answer.json()["items"]
        if not items:
            return
        product = random.choice(items)
        self._expect(
            "patch",
            f"{API}/products/{product['id']}",
            headers,
            "supplier: update product",
            200,
            json={"lead_time_days": random.randint(1, 30)},
            account=account,
        )

    # --- helpers ---------------------------------------------------------------------

    def _expect(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        name: str,
        status: int,
        *,
        json: Any = None,
        account: Account | None = None,
    ) -> bool:
        with self.client.request(
            method, path, headers=headers, json=json, name=name, catch_response=True
        ) as answer:
            if answer.status_code != status:
                self._failed(answer, account)
                return False
        return True

    @staticmethod
    def _failed(answer: Any, account: Account | None) -> None:
        answer.failure(f"{answer.status_code}: {answer.text[:300]}")
        if answer.status_code == 401 and account is not None:
            account.signed_out()
