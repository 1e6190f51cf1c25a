"""The language the helpers speak: what they print, draw and raise. English unless a notebook says otherwise.

``set_language("zh")`` (the Chinese notebooks' parameters cell sets ``LANGUAGE = "zh"``) switches the helpers'
messages to Simplified Chinese through gettext catalogs compiled from ``translations/zh/helpers.po`` and shipped in
``data/locale`` (``tools/translations.py`` compiles them), and gives matplotlib a Chinese font that travels with the
package (a subset of Noto Sans SC, SIL Open Font Licence, in ``data/fonts``), so plots show no empty boxes on Colab,
Binder or a Mac. The language is always passed explicitly, never read from the machine's locale.
"""

from __future__ import annotations

import functools
import gettext

LANGUAGES = {"en": "English", "zh": "简体中文 (Simplified Chinese)"}
DOMAIN = "helpers"
FONT_FILE = "NotoSansSC-subset.otf"
_current = "en"


def language() -> str:
    """The language the helpers speak now: ``"en"`` or ``"zh"``."""
    return _current


def set_language(name: str) -> str:
    """Make the helpers speak ``name`` (``"en"`` or ``"zh"``) from now on in this process; returns it."""
    global _current
    if name not in LANGUAGES:
        allowed = ", ".join(f"{code!r} ({label})" for code, label in LANGUAGES.items())
        raise ValueError(f"language must be one of {allowed}, not {name!r}")
    _current = name
    if name == "zh":
        use_chinese_font()
    return name


@functools.cache
def _catalog(name: str) -> gettext.NullTranslations:
    from helpers.files import data_dir

    return gettext.translation(DOMAIN, localedir=data_dir() / "locale", languages=[name])


def _(message: str) -> str:
    """``message`` in the current language (itself in English, or where a catalog has no translation for it)."""
    return message if _current == "en" else _catalog(_current).gettext(message)


def font_path():
    from helpers.files import data_dir

    return data_dir() / "fonts" / FONT_FILE


@functools.cache
def use_chinese_font() -> str:
    """Register the shipped Chinese font with matplotlib and put it first for sans-serif text; its family name."""
    from matplotlib import font_manager, rcParams

    path = str(font_path())
    font_manager.fontManager.addfont(path)
    family = font_manager.FontProperties(fname=path).get_name()
    rcParams["font.sans-serif"] = [family, *[f for f in rcParams["font.sans-serif"] if f != family]]
    rcParams["font.family"] = [family, "DejaVu Sans"]  # per character: Chinese from the subset, the rest (✔, Greek) from DejaVu
    rcParams["axes.unicode_minus"] = False  # the subset keeps ASCII's hyphen-minus; no empty box for U+2212
    return family
