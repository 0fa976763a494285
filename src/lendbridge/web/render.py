"""Rendering a page: the Jinja2 environment, with the locale's texts and formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from lendbridge.kit.masking import mask_phone
from lendbridge.web import csrf, i18n, labels, nav

TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "xml", "svg"]),
    undefined=StrictUndefined,  # a misspelt name is an error in the tests, not a blank
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext_, i18n.ngettext_, newstyle=True
)
# ``_()`` formats only when given variables: Jinja's own newstyle gettext always applies
# ``%``, which breaks on a service's message that contains one ("30.0000 %").
environment.globals["_"] = environment.globals["gettext"] = i18n.gettext_
environment.filters.update(
    money=i18n.money,
    number=i18n.number,
    percent=i18n.percent,
    date=i18n.date,
    datetime=i18n.datetime,
    mask_phone=mask_phone,
    label=labels.label,
    tone=labels.tone,
)


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    user = getattr(request.state, "web_user", None)
    locale = i18n.current()
    values = {
        "request": request,
        "user": user,
        "locale": locale,
        "html_lang": i18n.html_lang(locale),
        "other_locale": "en" if locale == "zh_CN" else "zh_CN",
        "csrf_token": csrf.token(request),
        "nav": nav.for_user(user, request.url.path),
        "flash": request.cookies.get(FLASH_COOKIE),
        **context,
    }
    body = environment.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code)
    csrf.set_cookie_if_new(request, response)
    if values["flash"]:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


FLASH_COOKIE = "lb_flash"
