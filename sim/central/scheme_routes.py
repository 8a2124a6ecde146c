"""Routes of the reference central for the scheme pages a kiosk shows under "Scheme information"
(docs/central-api.md): the list with its version, and each page with its picture. The pages
are scheme_seed.py's (tests replace its functions to serve hostile pages)."""

from __future__ import annotations

import re

from aiohttp import web

from . import scheme_seed
from .state import bad_request
from .store import ApiError

CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")


async def get_schemes(request: web.Request) -> web.Response:
    return web.json_response(scheme_seed.index())


async def get_scheme(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if not CODE.fullmatch(code):
        raise bad_request("a scheme code is a short lower-case identifier")
    found = scheme_seed.page(code)
    if found is None:
        raise ApiError(404, "not_found", f"no scheme page {code}")
    return web.json_response(found)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/schemes", get_schemes, allow_head=False)
    router.add_get("/v1/schemes/{code}", get_scheme, allow_head=False)
