"""The Simplified-Chinese edition, generated from the English, never edited by hand.

``notebooks/zh/NN_*.ipynb`` is built from ``notebooks/NN_*.ipynb`` and the catalog ``translations/zh/NN_*.po``:
the same cells in the same order; each markdown cell translated whole; in code cells each comment translated one
by one, and so is each sentence a learner reads (a printed string, an assert's hint; ``sentences``), each keyed by its
English text as gettext keys strings, so an edit of the logic alone needs no new translation; everything else
(the code, the prompts the tiny tokenizers read) unchanged; the parameters cell's ``LANGUAGE`` set to ``"zh"``, so
the helpers print, draw and raise in Chinese there. ``learner/zh/`` is made from
``notebooks/zh/`` the way ``learner/`` is made from ``notebooks/`` (``tools/learner_copies.py``).

Each catalog entry keeps the hash of the English it translates (``#. en-sha1: ...``). ``--check`` exits 1 and lists
what has no translation, and what was translated from an English text that has changed since.

    python tools/translations.py            # catalogs updated (new English added, untranslated), twins rebuilt
    python tools/translations.py --check    # what is untranslated or stale; exit 1 if anything is (make test)
    python tools/translations.py --add 03   # a notebook joins the edition: its catalog, every entry to translate

Every English notebook is in the edition: a new one without a catalog fails ``--check`` (``--add NN`` starts it).

The helpers' own messages (each ``_("...")`` in ``helpers/``, ``helpers.i18n``) have one catalog,
``translations/zh/helpers.po``, compiled into ``data/locale/zh/LC_MESSAGES/helpers.mo``; the Chinese font shipped in
``data/fonts`` is a subset of Noto Sans SC (Debian's ``fonts-noto-cjk``, SIL Open Font Licence) holding every
character the catalogs use. ``--check`` also fails when a message has no translation, the compiled catalog is not
the catalog's, or the font lacks a character; rebuilding the font needs ``fonts-noto-cjk`` installed, nothing else.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from learner_copies import learner_copy, parsable, write_changed  # beside this file: on the path for the script and the tests

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "zh"
SOURCE = ROOT / "notebooks"
CATALOGS = ROOT / "translations" / LANGUAGE
HELPERS_CATALOG = CATALOGS / "helpers.po"
COMPILED = ROOT / "data" / "locale" / LANGUAGE / "LC_MESSAGES" / "helpers.mo"
FONT = ROOT / "data" / "fonts" / "NotoSansSC-subset.otf"
SOURCE_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # Debian's fonts-noto-cjk
SOURCE_FONT_SC = 2  # the TTC's faces: JP, KR, SC, TC, HK


def repository() -> str:
    """This repository's ``owner/name`` (pyproject.toml's Source): catalogs hold ``@REPOSITORY@`` in its place, so a
    fork (``tools/repository.py --fork``) keeps every translation."""
    import tomllib

    source = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    return source.removeprefix("https://github.com/").strip("/")


def english_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Unit:
    """One piece of English to translate: a markdown cell (``context="markdown"``), a code comment or a sentence."""

    context: str
    english: str
    cell: str  # the cell's id, where the translator finds it


def comments(source: str) -> list[tuple[int, int, str]]:
    """``(row, column, text)`` of each comment of a code cell (IPython magics are read as code, not comments)."""
    code = "\n".join(re.sub(r"^(\s*)[%!]", r"\1 ", line) for line in source.split("\n"))  # tokenize knows no magics
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0], token.start[1], token.string[1:].strip()))
    except (tokenize.TokenError, IndentationError, SyntaxError) as error:
        raise ValueError(f"cannot read the comments of a code cell: {error}\n{source[:200]}") from error
    return [item for item in found if item[2]]


SENTENCE = re.compile(r"[A-Za-z]{2,}\W+[A-Za-z]{2,}")  # two words at least: a sentence a learner reads, not a key or a format
LITERAL = re.compile(r"^([rRuUfF]{0,2})(['\"])(.*)\2$")


# What a figure or a widget shows: the keyword arguments, the positional places (by function name) and the variables
# that hold a title, a label, a legend entry or a widget's words. A string there is shown, never used as a key, so
# translating it changes no logic (a notebook's guess widget passes its value to helpers.reveal only).
DRAWN_KEYWORDS = {"title", "titles", "label", "xlabel", "ylabel", "suptitle", "description", "options"}
DRAWN_PLACES = {"show_images": 1, "grid": 1, "enlarged_grid": 1, "controlnet_diagram": 2, "fidelity_plot": 2, "recipe_bars": 1, "set_title": 0,
                "set_xlabel": 0, "set_ylabel": 0, "suptitle": 0, "title": 0, "xlabel": 0, "ylabel": 0}
WORD = re.compile(r"[A-Za-z]{2,}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*_[A-Za-z0-9_.]*$")  # controlnet_conditioning_scale: an argument's name, kept


def drawn_literals(node: ast.AST) -> list[ast.expr]:
    """The string literals inside a drawn argument: itself, or the items of a list, a comprehension, a sum, a choice."""
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return [node]
    parts = {ast.List: lambda n: n.elts, ast.Tuple: lambda n: n.elts, ast.ListComp: lambda n: [n.elt], ast.BinOp: lambda n: [n.left, n.right],
             ast.IfExp: lambda n: [n.body, n.orelse], ast.Call: lambda n: [n.func.value] if isinstance(n.func, ast.Attribute) else []}
    return [literal for part in parts.get(type(node), lambda n: [])(node) for literal in drawn_literals(part)]


def sentences(source: str) -> list[tuple[int, int, int, str, str]]:
    """The sentences a learner reads in a code cell, as ``(row, start, end, prefix + quote, text inside the quotes)``:
    each one-line string literal printed (``print("...")``, ``helpers.reveal``'s measured text) or given as an assert's
    message (the exercises' hints), with two words at least; and each drawn on a figure (a title, an axis label, a legend entry: ``DRAWN_KEYWORDS``,
    ``DRAWN_PLACES``), with one word at least. An f-string's fields (``{...}``) are part of its text and must come back
    unchanged in the translation."""
    lines = source.split("\n")
    found = []
    for node in ast.walk(ast.parse(parsable(source))):
        read = [node.msg] if isinstance(node, ast.Assert) and node.msg is not None else []
        drawn = []
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
            read = node.args if name == "print" else read
            if name == "reveal" and len(node.args) > 1:  # helpers.reveal prints what was measured, beside the guess
                read = drawn_literals(node.args[1])
            if name in DRAWN_PLACES and len(node.args) > DRAWN_PLACES[name]:
                drawn += drawn_literals(node.args[DRAWN_PLACES[name]])
            drawn += [literal for keyword in node.keywords if keyword.arg in DRAWN_KEYWORDS for literal in drawn_literals(keyword.value)]
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in DRAWN_KEYWORDS for t in node.targets):
            drawn += drawn_literals(node.value)
        for literal, words in [(literal, SENTENCE) for literal in read] + [(literal, WORD) for literal in drawn]:
            if not isinstance(literal, (ast.Constant, ast.JoinedStr)) or literal.lineno != literal.end_lineno:
                continue
            line = lines[literal.lineno - 1]
            start = len(line.encode()[: literal.col_offset].decode())  # ast counts bytes, the line characters
            end = len(line.encode()[: literal.end_col_offset].decode())
            matched = LITERAL.match(line[start:end])
            if not matched or "\\" in matched.group(3):
                continue
            outside = re.sub(r"\{[^{}]*\}", "", matched.group(3))
            if words.search(outside) and not IDENTIFIER.match(outside):
                found.append((literal.lineno, start, end, matched.group(1) + matched.group(2), matched.group(3)))
    return sorted(set(found))


def fields(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}", text))


def unsafe(text: str) -> set[str]:
    """The characters that could end or escape a string literal, outside its f-string fields."""
    return set(re.sub(r"\{[^{}]*\}", "", text)) & {"'", '"', "\\"}


def units(nb: nbformat.NotebookNode) -> list[Unit]:
    """Everything of one English notebook that the Chinese edition translates, in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found.append(Unit("markdown", cell.source.replace(repository(), "@REPOSITORY@"), cell.id))
        elif cell.cell_type == "code":
            found += [Unit("comment", text, cell.id) for _, _, text in comments(cell.source)]
            found += [Unit("string", text, cell.id) for *_, text in sentences(cell.source)]
    return found


def catalog_path(notebook: Path) -> Path:
    return CATALOGS / f"{notebook.stem}.po"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=LANGUAGE)


def update_catalog(notebook: Path) -> Catalog:
    """The notebook's catalog with an entry for every unit, as gettext's msgmerge would make it: a new English text
    untranslated, or, where it replaces the English of a translated entry of the same cell, that translation marked
    fuzzy with the previous English beside it (``#| msgid``) for the translator to check. Entries whose English is
    gone are kept as obsolete (``#~``)."""
    path = catalog_path(notebook)
    old = read_catalog(path) if path.exists() else Catalog(locale=LANGUAGE)
    new = Catalog(locale=LANGUAGE, project="controlnet-tutorial", fuzzy=False)
    wanted = units(nbformat.read(notebook, as_version=4))
    current = {(unit.english, unit.context) for unit in wanted}
    for unit in wanted:
        if (unit.english, unit.context) in new:
            continue
        comments = [f"cell {unit.cell}", f"en-sha1: {english_hash(unit.english)}"]
        previous = old.get(unit.english, context=unit.context)
        if previous is not None:
            new.add(unit.english, previous.string, context=unit.context, auto_comments=comments, flags=previous.flags)
            continue
        replaced = next((m for m in old if m.id and m.string and m.context == unit.context and f"cell {unit.cell}" in m.auto_comments
                         and (m.id, m.context) not in current), None)
        if replaced is not None:  # the English of this cell changed: keep its translation as a fuzzy suggestion
            new.add(unit.english, replaced.string, context=unit.context, auto_comments=comments, flags=["fuzzy"], previous_id=replaced.id)
        else:
            new.add(unit.english, "", context=unit.context, auto_comments=comments)
    for message in old:
        if message.id and (message.id, message.context) not in new:
            new.obsolete[(message.id, message.context)] = message
    return new


def write_catalog(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, omit_header=True, sort_output=False, include_previous=True)
    path.write_bytes(buffer.getvalue())


def problems(notebook: Path) -> list[str]:
    """What keeps the notebook's twin from being the English, translated: units without a translation, and
    translations whose English hash is not the English they stand beside (edited by hand, or copied)."""
    catalog = read_catalog(catalog_path(notebook))
    found = []
    for unit in units(nbformat.read(notebook, as_version=4)):
        message = catalog.get(unit.english, context=unit.context)
        where = f"{notebook.name}, cell {unit.cell} ({unit.context})"
        if message is None or not message.string:
            found.append(f"{where}: no translation: {unit.english[:70]!r}")
        elif unit.context == "string" and (fields(message.string) != fields(unit.english) or unsafe(message.string) - unsafe(unit.english)):
            found.append(f"{where}: the translation must keep the fields {fields(unit.english)} and add no quote or backslash: {message.string[:70]!r}")
        elif message.fuzzy:
            found.append(f"{where}: the English changed since its translation (kept, marked fuzzy: check it): {unit.english[:70]!r}")
        elif f"en-sha1: {english_hash(unit.english)}" not in message.auto_comments:
            found.append(f"{where}: its hash is not the English's: {unit.english[:70]!r}")
    return found


def translate_notebook(notebook: Path) -> nbformat.NotebookNode:
    """The Chinese twin of one English notebook (every unit must have a translation: ``problems`` is empty)."""
    catalog = read_catalog(catalog_path(notebook))
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = catalog.get(cell.source.replace(repository(), "@REPOSITORY@"), context="markdown").string
            cell.source = cell.source.replace("@REPOSITORY@", repository()).replace(f"notebooks/{notebook.name}", f"notebooks/{LANGUAGE}/{notebook.name}")
        elif cell.cell_type == "code":
            lines = cell.source.split("\n")
            printed = sentences(cell.source)
            for row, column, text in reversed(comments(cell.source)):  # a comment ends its line: the sentences keep their places
                line = lines[row - 1]
                lines[row - 1] = line[:column] + "# " + catalog.get(text, context="comment").string
            for row, start, end, opening, text in reversed(printed):
                line = lines[row - 1]
                lines[row - 1] = line[:start] + opening + catalog.get(text, context="string").string + opening[-1] + line[end:]
            cell.source = "\n".join(lines)
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = re.sub(r'^LANGUAGE = "en"', f'LANGUAGE = "{LANGUAGE}"', cell.source, flags=re.MULTILINE)
    return nb


def translated_notebooks() -> list[Path]:
    return [p for p in sorted(SOURCE.glob("[0-9][0-9]_*.ipynb")) if catalog_path(p).exists()]


def expected_twins(root: Path = ROOT) -> dict[Path, str]:
    """Path -> text of every Chinese notebook and learner copy, as generated now."""
    result = {}
    for path in translated_notebooks():
        twin = translate_notebook(path)
        result[root / "notebooks" / LANGUAGE / path.name] = nbformat.writes(twin) + "\n"
        copy = learner_copy(twin, path.name, LANGUAGE)
        result[root / "learner" / LANGUAGE / path.name] = nbformat.writes(copy) + "\n"
    return result


def helper_messages(package: Path = ROOT / "helpers") -> dict[str, str]:
    """Every message the helpers pass to ``_()`` (a string literal), with where it is: ``{english: "file:line"}``."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_" and node.args:
                if not (isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                    raise ValueError(f"{path.relative_to(ROOT)}:{node.lineno}: _() takes a string literal (a catalog key), not an expression")
                found.setdefault(node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def compiled_helpers_catalog() -> bytes:
    """``helpers.po`` compiled, the same bytes every time (its header's dates fixed: a test compares the shipped file)."""
    from datetime import datetime, timezone

    catalog = read_catalog(HELPERS_CATALOG)
    catalog.creation_date = catalog.revision_date = datetime(2026, 1, 1, tzinfo=timezone.utc)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def is_chinese(character: str) -> bool:
    """CJK ideographs and the CJK and full-width punctuation around them: what the Chinese font must draw (symbols
    such as ✔ and the Latin letters are drawn by matplotlib's own DejaVu Sans, next in the font list)."""
    code = ord(character)
    return 0x3000 <= code <= 0x303F or 0x4E00 <= code <= 0x9FFF or 0xFF00 <= code <= 0xFFEF or character in "“”‘’…—·"


DRAWN_ELSEWHERE = ("markdown", "comment")  # rendered by the browser, never by matplotlib: the font need not hold them


def drawn_messages() -> list[str]:
    """The translations matplotlib may draw: the helpers' messages (plot titles, labels, legends) and any notebook
    entry that is neither a markdown cell nor a comment."""
    return [m.string for path in sorted(CATALOGS.glob("*.po")) for m in read_catalog(path)
            if m.id and m.string and (path == HELPERS_CATALOG or m.context not in DRAWN_ELSEWHERE)]


def catalog_characters() -> set[str]:
    """The characters the font must hold: the Chinese ones of every translation matplotlib may draw, and printable
    ASCII (the font stays small: the browser draws the notebooks' text with its own fonts)."""
    return {chr(c) for c in range(32, 127)} | {c for text in drawn_messages() for c in text if is_chinese(c)}


def font_characters(path: Path = FONT) -> set[str]:
    from fontTools.ttLib import TTFont

    return {chr(code) for code in TTFont(path).getBestCmap()}


def build_font() -> None:
    """The shipped font: Noto Sans SC cut down to the characters the catalogs use (fontTools' subsetter)."""
    from fontTools import subset

    if not SOURCE_FONT.exists():
        raise SystemExit(f"{SOURCE_FONT} is missing: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) to rebuild the font")
    options = subset.Options()
    options.font_number, options.name_IDs, options.name_languages, options.notdef_outline = SOURCE_FONT_SC, ["*"], ["*"], True
    font = subset.load_font(str(SOURCE_FONT), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(catalog_characters())))
    subsetter.subset(font)
    FONT.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(FONT), options)


def helpers_problems() -> list[str]:
    catalog = read_catalog(HELPERS_CATALOG)
    found = [f"{where}: no translation in {HELPERS_CATALOG.relative_to(ROOT)}: {english!r}"
             for english, where in helper_messages().items() if not (catalog.get(english) and catalog.get(english).string)]
    if not COMPILED.exists() or COMPILED.read_bytes() != compiled_helpers_catalog():
        found.append(f"{COMPILED.relative_to(ROOT)} is not {HELPERS_CATALOG.relative_to(ROOT)} compiled: run python tools/translations.py")
    missing = catalog_characters() - font_characters() if FONT.exists() else {"(no font)"}
    if missing:
        found.append(f"{FONT.relative_to(ROOT)} lacks {''.join(sorted(missing))!r}: run python tools/translations.py (needs fonts-noto-cjk)")
    return found


def update_helpers_catalog() -> None:
    """New ``_()`` messages added untranslated; the compiled catalog and, where characters are new, the font rebuilt."""
    catalog = read_catalog(HELPERS_CATALOG)
    for english, where in helper_messages().items():
        if english not in catalog:
            catalog.add(english, "", flags=["python-brace-format"] if "{" in english else [])  # no line numbers: they move with every edit
    write_catalog(catalog, HELPERS_CATALOG)
    COMPILED.parent.mkdir(parents=True, exist_ok=True)
    COMPILED.write_bytes(compiled_helpers_catalog())
    if not FONT.exists() or font_characters() != catalog_characters():  # exactly what may be drawn: none missing, none spare
        build_font()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/translations.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list what is untranslated or stale; exit 1 if anything is")
    parser.add_argument("--add", default="", help="comma-separated notebook numbers to bring into the edition (an empty catalog each), e.g. 00,01")
    args = parser.parse_args(argv)
    for number in filter(None, args.add.split(",")):
        path = next(SOURCE.glob(f"{number}_*.ipynb"))
        if not catalog_path(path).exists():
            write_catalog(Catalog(locale=LANGUAGE), catalog_path(path))
    english = sorted(SOURCE.glob("[0-9][0-9]_*.ipynb"))
    missing = [p.name for p in english if not catalog_path(p).exists()]
    if args.check:
        found = helpers_problems() + [line for path in translated_notebooks() for line in problems(path)]
        found += [f"{name}: no catalog in translations/{LANGUAGE}/ (python tools/translations.py --add {name[:2]})" for name in missing]
        print("\n".join(found) if found else f"the Chinese edition is up to date: {len(english)} notebooks")
        return 1 if found else 0
    for path in translated_notebooks():
        write_catalog(update_catalog(path), catalog_path(path))
    update_helpers_catalog()
    pending = helpers_problems() + [line for path in translated_notebooks() for line in problems(path)]
    if pending:
        print("\n".join(pending) + f"\n{len(pending)} to translate in translations/{LANGUAGE}/: the twins were not rebuilt")
        return 1
    write_changed(expected_twins(), ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
