"""Every text of the pages has its Chinese translation (zh-CN is the default language)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import lendbridge.web
from lendbridge.web import i18n

WEB = Path(lendbridge.web.__file__).parent
KEYWORDS = {"_": None, "gettext_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}


def _extracted() -> set[str]:
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(
        WEB, METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog() -> dict[str, str]:
    with (WEB / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.id, str)}


def test_every_page_text_is_translated_into_chinese() -> None:
    texts = _extracted()
    assert len(texts) > 20
    translated = _catalog()
    missing = sorted(t for t in texts if not translated.get(t))
    assert not missing, f"run ./dev messages and translate: {missing}"


def test_the_catalog_loads_and_translates() -> None:
    i18n.use("zh_CN")
    assert i18n.gettext_("Sign in") == "登录"
    i18n.use("en")
    assert i18n.gettext_("Sign in") == "Sign in"
    i18n.use(i18n.DEFAULT_LOCALE)
