"""The pages' texts against their Chinese catalogs: which English ids have no translation.

``python -m lendbridge.web.catalog`` (``./dev messages``) lists them; the tests fail on any.
Each area of the pages keeps its own catalog (``messages.po``, ``portal.po``, ``staff.po``…)
so that its translations live next to nothing else's.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).parent
CATALOGS = WEB / "locale" / "zh_CN" / "LC_MESSAGES"
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "gettext_": None, "N_": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}


def page_texts() -> dict[str, str]:
    """Every message id the pages use → the first file that uses it."""
    found: dict[str, str] = {}
    for filename, _, message, _, _ in extract_from_dir(
        WEB, METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        text = message if isinstance(message, str) else message[0]
        found.setdefault(text, filename)
    return found


def translations() -> dict[str, tuple[str, str]]:
    """Message id → (translation, catalog file); an id translated in two catalogs is refused."""
    found: dict[str, tuple[str, str]] = {}
    for po in sorted(CATALOGS.glob("*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale="zh_CN")
        for message in catalog:
            if message.id and isinstance(message.id, str):
                if message.id in found:
                    raise ValueError(f"{message.id!r} is in {found[message.id][1]} and {po.name}")
                found[message.id] = (str(message.string or ""), po.name)
    return found


def untranslated() -> dict[str, str]:
    known = translations()
    return {text: where for text, where in page_texts().items() if not known.get(text, ("",))[0]}


def main() -> None:
    missing = untranslated()
    for text, where in sorted(missing.items(), key=lambda item: item[1]):
        print(f"{where}: msgid {text!r}")  # noqa: T201 (a developer's command)
    print(f"{len(missing)} text(s) without a zh_CN translation")  # noqa: T201
    raise SystemExit(1 if missing else 0)


if __name__ == "__main__":
    main()
