"""Languages and the locale's formats: zh-CN by default, English by switch.

Message ids are English; the ``.po`` files under ``locale/zh_CN/LC_MESSAGES/`` translate
them. They are read and compiled in memory at start-up (Babel), so no generated ``.mo`` file
is kept in the repository.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
COOKIE = "lb_lang"
_HERE = Path(__file__).parent / "locale"
_current: ContextVar[str] = ContextVar("lendbridge_web_locale", default=DEFAULT_LOCALE)


def choose(cookie_value: str | None) -> str:
    return cookie_value if cookie_value in LOCALES else DEFAULT_LOCALE


def use(locale: str) -> None:
    """Make ``locale`` the language of what this request renders."""
    _current.set(choose(locale))


def current() -> str:
    return _current.get()


def html_lang(locale: str | None = None) -> str:
    return (locale or current()).replace("_", "-")


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """Every ``.po`` file of the locale (one per area of the pages: ``messages.po``,
    ``portal.po``, ``staff.po`` …), merged and compiled in memory."""
    merged: gettext.NullTranslations = gettext.NullTranslations()
    for po in sorted((_HERE / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = gettext.GNUTranslations(compiled)
        part.add_fallback(merged)
        merged = part
    return merged


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks an English message id for extraction where it is defined (menus, notices); it is
    translated where it is shown."""
    return message


def gettext_(message: str, **variables: object) -> str:
    text = translations(current()).gettext(message)
    return text % variables if variables else text


def ngettext_(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def money(minor_units: int | None, currency: str = "CNY") -> str:
    """Integer minor units as the locale writes the amount: ¥1,234.56 (never via float)."""
    if minor_units is None:
        return "—"
    amount = Decimal(minor_units).scaleb(-2)
    return format_currency(amount, currency, locale=current(), format_type="standard")


def number(value: int | Decimal | None) -> str:
    return "—" if value is None else format_decimal(value, locale=current())


def percent(rate_percent: Decimal | str | None, digits: int = 2) -> str:
    """A rate given in percent (``Decimal("23.45")``) as ``23.45%``."""
    if rate_percent is None:
        return "—"
    fraction = Decimal(str(rate_percent)) / 100
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    return format_percent(fraction, format=pattern, locale=current())


def date(value: dt.date | None) -> str:
    return "—" if value is None else format_date(value, format="medium", locale=current())


def datetime(value: dt.datetime | None) -> str:
    return "—" if value is None else format_datetime(value, format="medium", locale=current())


def language_name(locale: str) -> str:
    return str(Locale.parse(locale).get_display_name(locale))
