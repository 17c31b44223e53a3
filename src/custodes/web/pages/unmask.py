"""The unmask form behind the staff and case pages: ask to see who a pseudonym is, with a
written justification, through ``privacy.unmasking.request`` (the same call as
``POST /api/unmask``; every request is audited there).

The form posts here from whichever page showed it, with that page as ``next``; the answer
goes back to it, saying whether the grant is active now or waits for a second person's
approval (``CUSTODES_UNMASK_NEEDS_APPROVAL``), or why it could not be made. Only
pseudonyms of case subjects can be unmasked (the case store maps back only those).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from custodes.access.roles import Permission
from custodes.errors import InputError, NotFoundError, PermissionDeniedError
from custodes.privacy import unmasking
from custodes.web.deps import SettingsDep, StoreDep
from custodes.web.pages.base import PageRoute, Viewer, page_requires
from custodes.web.pages.widgets import back_to

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CanUnmask = Annotated[Viewer, page_requires(Permission.unmask_request)]


@router.post("/integrity/unmask")
def unmask(
    viewer: CanUnmask,
    store: StoreDep,
    settings: SettingsDep,
    pseudonym: Annotated[str, Form(pattern=r"^S-[A-Z2-7]{10}$")],
    justification: Annotated[str, Form(max_length=10_000)] = "",
    case_id: Annotated[int | None, Form(ge=1, le=2**53)] = None,
    next_path: Annotated[str, Form(alias="next", max_length=2048)] = "/",
) -> RedirectResponse:
    try:
        with store.write() as session:
            grant = unmasking.request(
                session, viewer.principal, pseudonym, justification, case_id, settings=settings
            )
            status = grant.status
    except InputError:
        return RedirectResponse(back_to(next_path, "/", problem="unmask-justification"), 303)
    except NotFoundError:
        return RedirectResponse(back_to(next_path, "/", problem="unmask-subject"), 303)
    except PermissionDeniedError:
        return RedirectResponse(back_to(next_path, "/", problem="unmask-refused"), 303)
    done = "unmask-active" if status == unmasking.ACTIVE else "unmask-pending"
    return RedirectResponse(back_to(next_path, "/", done=done), 303)
