"""Every text of the pages has its Chinese translation (zh-CN is the default language)."""

from __future__ import annotations

from lendbridge.web import catalog, i18n


def test_every_page_text_is_translated_into_chinese() -> None:
    assert len(catalog.page_texts()) > 20
    missing = catalog.untranslated()
    assert not missing, f"translate (./dev messages lists them): {sorted(missing)}"


def test_the_catalog_loads_and_translates() -> None:
    i18n.use("zh_CN")
    assert i18n.gettext_("Sign in") == "登录"
    i18n.use("en")
    assert i18n.gettext_("Sign in") == "Sign in"
    i18n.use(i18n.DEFAULT_LOCALE)


def test_a_message_with_a_percent_sign_is_shown_as_it_is() -> None:
    from lendbridge.web.render import environment

    template = environment.from_string("{{ _(message) }}|{{ _('Error code') }} %(n)s")
    i18n.use("zh_CN")
    assert template.render(message="APR above 24.0000 % (cap)") == (
        "APR above 24.0000 % (cap)|错误代码 %(n)s"
    )
    with_values = environment.from_string("{{ _('%(n)s items', n=3) }}")
    assert with_values.render() == "3 items"
