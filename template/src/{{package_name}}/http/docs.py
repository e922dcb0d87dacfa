"""The HTML documentation pages (`/docs`, `/redoc`), served as FastAPI serves them but with the
title HTML-escaped.

FastAPI writes its title into the pages' `<title>` as it is, and these pages may run inline
script: a project named `</title><script>...` would run that script in a reader's browser.
"""

import html

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"


def add_docs_pages(app: FastAPI) -> frozenset[str]:
    """Serve /docs and /redoc with the title escaped; return their paths (the HTML pages get
    their own Content-Security-Policy)."""
    title = html.escape(app.title)

    def under_root_path(request: Request, path: str) -> str:
        return request.scope.get("root_path", "").rstrip("/") + path

    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=under_root_path(request, OPENAPI_URL),
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=under_root_path(request, OAUTH2_REDIRECT_URL),
        )

    async def swagger_ui_oauth2_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=under_root_path(request, OPENAPI_URL), title=f"{title} - ReDoc"
        )

    pages = {
        DOCS_URL: swagger_ui,
        OAUTH2_REDIRECT_URL: swagger_ui_oauth2_redirect,
        REDOC_URL: redoc,
    }
    for path, page in pages.items():
        app.add_route(path, page, include_in_schema=False)
    return frozenset(pages)
