"""Every page declares who may open it; no page is in the API's OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from lendbridge.identity import catalog
from lendbridge.identity.auth import declared_permission
from lendbridge.web import nav
from lendbridge.web.pages import ROUTERS


def _pages(app: FastAPI) -> list[APIRoute]:
    assert isinstance(app.router.default, FastAPI)  # the pages answer what the API does not
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def test_every_page_declares_a_known_permission(web_app: FastAPI) -> None:
    pages = _pages(web_app)
    assert pages
    classes = {nav.PUBLIC, nav.CUSTOMER, nav.STAFF}
    for route in pages:
        declared = declared_permission(route)
        assert declared in classes or declared in catalog.PERMISSIONS, (route.path, declared)


def test_pages_stay_out_of_the_api_document(web_app: FastAPI) -> None:
    paths = web_app.openapi()["paths"]
    assert all(p.startswith(("/v1/", "/health", "/ready")) for p in paths)


def test_every_menu_link_leads_to_a_page(web_app: FastAPI) -> None:
    paths = {route.path for route in _pages(web_app)}
    for link in [*nav.PORTAL, *nav.BACK_OFFICE]:
        assert link.path in paths, link
