"""GET /api/health: is the server up and its case store reachable (no login needed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from custodes import __version__
from custodes.errors import StoreError
from custodes.web.deps import SettingsDep, StoreDep
from custodes.web.schemas.auth import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
def health(settings: SettingsDep, store: StoreDep) -> HealthOut:
    try:
        with store.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy", said as 503
        raise StoreError("case store unreachable") from exc
    return HealthOut(
        status="ok", version=__version__, environment=settings.environment, case_store="ok"
    )
