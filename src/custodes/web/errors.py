"""Domain errors to HTTP answers, in one place.

NotFoundError → 404 (also what a case the caller may not see answers: need-to-know),
PermissionDeniedError → 403, ConflictError and a stale ORM write → 409, InputError → 422
(shaped like FastAPI's own validation errors, with the field), StoreError → 503 (the event
store is busy with another process, or a store is unreachable).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError

from custodes.errors import (
    ConflictError,
    CustodesError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    StoreError,
)
from custodes.web.schemas.common import ErrorOut, ValidationErrorOut

# Added to every /api route's OpenAPI entry, so clients (and schemathesis) know the shapes.
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "The body is not valid JSON"},
    401: {"model": ErrorOut, "description": "Not authenticated"},
    403: {"model": ErrorOut, "description": "Forbidden (or missing X-CSRF-Token)"},
    404: {"model": ErrorOut, "description": "Not found, or not yours to know of"},
    409: {"model": ErrorOut, "description": "Stale version, or a move not allowed now"},
    422: {"model": ValidationErrorOut, "description": "Invalid input"},
    503: {"model": ErrorOut, "description": "A store is busy or unreachable; retry"},
}


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def _not_found(_r: Request, exc: NotFoundError) -> JSONResponse:
        return _detail(404, str(exc))

    @app.exception_handler(PermissionDeniedError)
    async def _denied(_r: Request, exc: PermissionDeniedError) -> JSONResponse:
        return _detail(403, str(exc))

    @app.exception_handler(RateLimitedError)
    async def _limited(_r: Request, exc: RateLimitedError) -> JSONResponse:
        answer = _detail(429, str(exc))
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    @app.exception_handler(ConflictError)
    async def _conflict(_r: Request, exc: ConflictError) -> JSONResponse:
        return _detail(409, str(exc))

    @app.exception_handler(StaleDataError)
    async def _stale(_r: Request, _exc: StaleDataError) -> JSONResponse:
        return _detail(409, "it changed while you were saving; read it again and retry")

    @app.exception_handler(InputError)
    async def _input(_r: Request, exc: InputError) -> JSONResponse:
        loc: list[str | int] = ["body", *(exc.field.split(".") if exc.field else [])]
        body = {"detail": [{"loc": loc, "msg": exc.reason, "type": "value_error"}]}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _range(_r: Request, _exc: Exception) -> JSONResponse:
        # A number the database cannot hold (SQLite: OverflowError; PostgreSQL: DataError).
        body = {
            "detail": [{"loc": ["body"], "msg": "a number is out of range", "type": "value_error"}]
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StoreError)
    async def _store(_r: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(CustodesError)
    async def _other(_r: Request, exc: CustodesError) -> JSONResponse:
        return _detail(409, str(exc))
