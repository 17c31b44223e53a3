"""A page handler that lets a domain error escape still answers with a page, never JSON."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from custodes.errors import ConflictError, CustodesError, InputError, RateLimitedError
from custodes.web.pages.base import PageRoute


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConflictError("case 3 changed since version 1"), 409),
        (InputError("must not be empty", field="title"), 422),
        (RateLimitedError("slow down", retry_after=30), 429),
    ],
)
def test_escaped_domain_errors_become_html_pages(error: CustodesError, status: int) -> None:
    router = APIRouter(route_class=PageRoute)

    @router.get("/boom")
    def boom() -> None:
        raise error

    app = FastAPI()
    app.include_router(router)
    answer = TestClient(app).get("/boom")
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.text.lower()
