"""The Chinese edition's machinery: what is translated (markdown cells, code comments), how a twin is built (the code
unchanged but for LANGUAGE), how a stale or missing translation is caught, and the helpers speaking Chinese with a
font that has every character they print."""

from __future__ import annotations

import re
import warnings

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from PIL import Image

import translations as T
from helpers import i18n
from helpers.feedback import check_exercise, reveal

CODE = '''from helpers import quick  # quick(a, b): b in CI
%pip install something  # a magic, then a comment
text = "# not a comment"  # but this is one
LANGUAGE = "en"'''


def english_notebook(path):
    nb = new_notebook(cells=[new_markdown_cell("# A title\n\nSome words."), new_code_cell(CODE), new_markdown_cell("**Predict:** more?")])
    nb.cells[1].metadata["tags"] = ["parameters"]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def edition(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "CATALOGS", tmp_path / "translations")
    return english_notebook(tmp_path / "01_example.ipynb")


def test_comments_are_found_outside_strings_and_around_magics(tmp_path):
    assert [text for _, _, text in T.comments(CODE)] == ["quick(a, b): b in CI", "a magic, then a comment", "but this is one"]
    units = T.units(nbformat.read(english_notebook(tmp_path / "01_x.ipynb"), as_version=4))
    assert [u.context for u in units] == ["markdown", "comment", "comment", "comment", "markdown"]


def translate_all(path):
    catalog = T.update_catalog(path)
    chinese = {"# A title\n\nSome words.": "# 标题\n\n几句话。", "quick(a, b): b in CI": "quick(a, b)：CI 里取 b",
               "a magic, then a comment": "魔法命令之后的注释", "but this is one": "这才是注释", "**Predict:** more?": "**预测：** 更多？"}
    for message in catalog:
        if message.id:
            message.string = chinese[message.id]
    T.write_catalog(catalog, T.catalog_path(path))


def test_a_twin_translates_words_and_keeps_the_code(edition):
    translate_all(edition)
    assert T.problems(edition) == []
    twin = T.translate_notebook(edition)
    assert twin.cells[0].source == "# 标题\n\n几句话。" and twin.cells[2].source == "**预测：** 更多？"
    assert twin.cells[1].source == ('from helpers import quick  # quick(a, b)：CI 里取 b\n'
                                    '%pip install something  # 魔法命令之后的注释\n'
                                    'text = "# not a comment"  # 这才是注释\n'
                                    'LANGUAGE = "zh"')
    assert [c.id for c in twin.cells] == ["c0", "c1", "c2"]  # same cells, same order


def test_the_check_names_what_is_untranslated_and_what_went_stale(edition):
    T.write_catalog(T.update_catalog(edition), T.catalog_path(edition))
    found = T.problems(edition)
    assert len(found) == 5 and all("no translation" in line for line in found)
    translate_all(edition)
    nb = nbformat.read(edition, as_version=4)
    nb.cells[2].source = "**Predict:** fewer?"  # the English changes; its old translation stays as obsolete
    nb.cells[1].source = nb.cells[1].source.replace("LANGUAGE", "LANG")  # logic only: no new translation needed
    nbformat.write(nb, edition)
    T.write_catalog(T.update_catalog(edition), T.catalog_path(edition))
    assert T.problems(edition) == ["01_example.ipynb, cell c2 (markdown): the English changed since its translation "
                                   "(kept, marked fuzzy: check it): '**Predict:** fewer?'"]
    catalog = T.read_catalog(T.catalog_path(edition))
    suggestion = catalog.get("**Predict:** fewer?", context="markdown")
    assert suggestion.string == "**预测：** 更多？" and suggestion.fuzzy  # msgmerge's way: the old translation, to check
    assert '#| msgid "**Predict:** more?"' in T.catalog_path(edition).read_text()  # the English it translated, beside it


def test_the_helpers_catalog_is_complete_compiled_and_its_font_has_every_character():
    assert T.helpers_problems() == []
    assert set(T.helper_messages()) >= {"validation IoU", "Exercise {number}: {verdict}"}


def test_helpers_speak_the_language_they_are_given(capsys):
    try:
        i18n.set_language("zh")
        check_exercise(2, [("x == 1", "x is 1")], {})
        reveal(None, "48x")
        out = capsys.readouterr().out
        assert "✘ 还没有： x is 1 （x 还没有定义：请先运行你的代码）" in out and "练习 2：1 项检查通过了 0 项" in out
        assert "你的预测：（还没写" in out and "实测结果：48x" in out
    finally:
        i18n.set_language("en")
    reveal("a", "b")
    assert capsys.readouterr().out == "your prediction: a\nmeasured:        b\n"
    with pytest.raises(ValueError, match=r"language must be one of 'en' \(English\), 'zh' .*, not 'fr'"):
        i18n.set_language("fr")


def test_widgets_errors_plots_and_the_install_check_speak_chinese(tiny_pipe):
    """In Chinese: a widget's labels and status, the colour choices (labelled, their values the English keys the tiny
    tokenizer knows), an argument's error, a plot's labels and the install check; and English again after."""
    from helpers.arguments import ArgumentError, whole_number
    from helpers.check import environment_report
    from helpers.tiny.shapes import DEMO_SCENE
    from helpers.ui.drawers import ShapeDrawer
    from helpers.ui.plots import residual_bars
    from helpers.ui.widgets import CannyExplorer

    try:
        i18n.set_language("zh")
        explorer = CannyExplorer({"grey": Image.new("RGB", (32, 32), (90, 90, 90))})
        assert (explorer.low.description, explorer.auto.description) == ("低阈值", "自动阈值")
        assert explorer.status.value == "边缘密度 <b>0.0%</b>（low=100, high=200, blur=0）"
        drawer = ShapeDrawer(tiny_pipe, steps=1)
        kind, colour = drawer.rows[0][:2]
        assert (kind.label, kind.value, colour.label, colour.value) == ("星形 (star)", "star", "黄 (yellow)", "yellow")
        assert drawer.status.value.startswith(f"提示词：<i>{DEMO_SCENE.prompt}</i><br>边缘 F1（2 px）")  # the prompt stays English
        with pytest.raises(ArgumentError, match=r"^steps 必须是整数（1 到 50），而不是 0。$"):
            whole_number("steps", 0, 1, 50)
        axes = residual_bars([1.0, 2.0, 3.0]).axes[0]
        assert (axes.get_xlabel(), axes.get_ylabel()) == ("残差（0 = conv_in，最高分辨率）", "平均 |残差|")
        from helpers.hub.ids import HUB_DOWNLOAD_GB

        disk = environment_report(check_hub=False)[-1]
        assert disk.name == f"存放权重的磁盘（{HUB_DOWNLOAD_GB} GB）" and re.fullmatch(r".+ 还有 \d+ GB 可用(：只够 tiny 模式)?", disk.detail), disk
    finally:
        i18n.set_language("en")
    assert CannyExplorer({"grey": Image.new("RGB", (32, 32))}).low.description == "low"
    with pytest.raises(ArgumentError, match=r"^steps must be a whole number from 1 to 50, not 0\.$"):
        whole_number("steps", 0, 1, 50)


def test_the_chinese_font_draws_every_translated_message_without_an_empty_box():
    """matplotlib warns "Glyph ... missing from font(s)" where it would draw an empty box: an error here."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = i18n.use_chinese_font()
    assert family.startswith("Noto Sans") and i18n.font_path().stat().st_size < 300_000  # only what plots may draw (576 characters)
    texts = T.drawn_messages()
    assert any("验证集" in text for text in texts)
    fig, ax = plt.subplots()
    for i, text in enumerate(texts):
        ax.text(0, i, text)
    ax.set_title("第 800 步：0.70 训练")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font.*")
        fig.canvas.draw()
    plt.close(fig)


ROOT = T.ROOT
TERMS = {"locked copy": "锁定副本", "trainable copy": "可训练副本", "zero convolution": "零卷积"}  # as the Chinese HF blog says


def test_the_chinese_edition_is_generated_and_in_step_with_the_english(tmp_path, monkeypatch, capsys):
    assert T.main(["--check"]) == 0
    assert [p.name for p in T.translated_notebooks()] == [p.name for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    with monkeypatch.context() as patched:  # a new English notebook without its catalog fails the check
        patched.setattr(T, "SOURCE", tmp_path)
        english_notebook(tmp_path / "09_new.ipynb")
        assert T.main(["--check"]) == 1 and "09_new.ipynb: no catalog in translations/zh/" in capsys.readouterr().out
    stale = [str(p.relative_to(ROOT)) for p, text in T.expected_twins().items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert stale == [], f"run `make translations`: {stale}"
    for path in T.translated_notebooks():
        english, chinese = (nbformat.read(p, as_version=4) for p in (path, ROOT / "notebooks" / "zh" / path.name))
        assert [(c.id, c.cell_type) for c in chinese.cells] == [(c.id, c.cell_type) for c in english.cells]
        for a, b in zip(english.cells, chinese.cells):
            if a.cell_type == "code":  # the same code: only the comments and the language differ
                assert same_code(a.source.replace('LANGUAGE = "en"', 'LANGUAGE = "zh"'), b.source), a.id


def tokens(source: str) -> list:
    import io
    import tokenize

    from learner_copies import parsable

    return [t for t in tokenize.generate_tokens(io.StringIO(parsable(source)).readline) if t.type not in (tokenize.NL, tokenize.NEWLINE)]


def same_code(english: str, chinese: str) -> bool:
    """Token for token the same, but for comments and the sentences of ``sentences`` (same prefix and quotes)."""
    import tokenize

    printed = {text for *_, text in T.sentences(english)}
    pairs = list(zip(tokens(english), tokens(chinese)))
    if len(tokens(english)) != len(tokens(chinese)):
        return False
    for a, b in pairs:
        if a.type == tokenize.COMMENT:
            ok = b.type == tokenize.COMMENT
        elif a.type == tokenize.STRING and T.LITERAL.match(a.string) and T.LITERAL.match(a.string).group(3) in printed:
            ok = b.type == tokenize.STRING and b.string[:-1].startswith(a.string[: len(a.string) - len(a.string.lstrip("rRuUfF")) + 1])
        else:
            ok = (a.type, a.string) == (b.type, b.string)
        if not ok:
            return False
    return True


def chinese_glossary() -> dict[str, str]:
    """English term -> its Chinese, from docs/glossary.zh-CN.md's table."""
    import re

    rows = re.findall(r"^\| \*\*(.+?)\*\* \| (.+?) \|", (ROOT / "docs" / "glossary.zh-CN.md").read_text(), re.MULTILINE)
    return {english.strip().lower(): chinese for chinese, english in rows}


def test_each_term_is_translated_the_same_way_everywhere():
    """Wherever the English says a glossary term, its translation says the glossary's Chinese for it: the blog's three
    (锁定副本, 可训练副本, 零卷积) and the rest of docs/glossary.zh-CN.md."""
    terms = chinese_glossary()
    assert {english: terms[english] for english in TERMS} == TERMS and len(terms) >= 19
    english_terms = {line.split("**")[1].split(" (")[0].lower() for line in (ROOT / "docs" / "glossary.md").read_text().splitlines()
                     if line.startswith("| **")}
    assert all(any(english in known or known in english for known in english_terms) for english in terms), "each term is in the English glossary"
    import re

    for path in sorted(T.CATALOGS.glob("*.po")):
        for message in T.read_catalog(path):
            words = re.sub(r"`[^`]*`|\]\([^)]*\)|\{[^{}]*\}", "", message.id).lower()  # prose only: code, link targets, f-string fields stay
            for english, chinese in terms.items():
                if message.string and english in words:
                    assert chinese in message.string, f"{path.name}: {english!r} is {chinese} ({message.id[:60]!r})"


# The Chinese notebooks that make test runs: the fastest two. The others need not run here: their code is the English
# code, token for token but for the comments and LANGUAGE (test above), and make test runs every English notebook; what
# running a Chinese one adds is the language switch reaching the helpers, the same in every notebook.
RUN_IN_MAKE_TEST = ("00_setup.ipynb",)  # and zh/01 in the real-browser test (tests/test_browser.py), widgets and plots with it


def test_the_chinese_notebooks_run_and_speak_chinese(tmp_path):
    """Chinese notebooks, top to bottom from another folder as nbmake would: no error, and the helpers' own printed
    lines are Chinese (the parameters cell's LANGUAGE reached them)."""
    from run_notebook import run_notebook

    assert all((ROOT / "notebooks" / "zh" / name).exists() for name in RUN_IN_MAKE_TEST)
    for path in [ROOT / "notebooks" / "zh" / name for name in RUN_IN_MAKE_TEST]:
        nb = run_notebook(path, tmp_path, timeout_s=300).notebook
        outputs = [o for c in nb.cells for o in c.get("outputs", [])]
        assert [o for o in outputs if o.get("output_type") == "error"] == [], path.name
        printed = "".join(o.get("text", "") for o in outputs)
        assert "你的预测：" in printed and "实测结果：" in printed, path.name  # helpers.reveal, in Chinese


def test_the_chinese_readme_lists_every_chinese_notebook_with_its_badges():
    import re

    readme = (ROOT / "README.zh-CN.md").read_text()
    colab = set(re.findall(r"colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/main/(notebooks/zh/[\w.]+\.ipynb)", readme))
    binder = set(re.findall(r"urlpath=lab/tree/(notebooks/zh/[\w.]+\.ipynb)", readme))
    chinese = {f"notebooks/zh/{p.name}" for p in (ROOT / "notebooks" / "zh").glob("*.ipynb")}
    assert colab == binder == chinese
    assert "[简体中文](README.zh-CN.md)" in (ROOT / "README.md").read_text() and "[English](README.md)" in readme


def test_each_translation_keeps_the_markdown_of_its_english():
    """A translated cell keeps its English's structure: headings, bold, code spans, formulas, table rows and link
    targets (the glossary's link goes to the Chinese glossary)."""
    import re

    def shape(text: str) -> dict:
        return {"headings": re.findall(r"^#+ ", text, re.MULTILINE), "bold": text.count("**"), "code": len(re.findall(r"`[^`]*`", text)),
                "math": text.count("$"), "rows": len(re.findall(r"^\s*\|", text, re.MULTILINE)),
                "links": sorted(re.findall(r"\]\(([^)]*)\)", text.replace("glossary.md)", "glossary.zh-CN.md)")))}

    for path in sorted(T.CATALOGS.glob("[0-9]*.po")):
        for message in T.read_catalog(path):
            if message.id and message.string and message.context == "markdown":
                assert shape(message.string) == shape(message.id), f"{path.name}: {message.id[:70]!r}"


def test_printed_sentences_and_hints_are_translated_and_keep_their_fields(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "CATALOGS", tmp_path / "translations")
    code = 'x = 2\nprint(f"x is {x:.1f} here", "ok")\nassert x == 2, "x is two, as set"\nname = "not printed at all"'
    nb = new_notebook(cells=[new_code_cell(code)])
    nb.cells[0]["id"] = "c0"
    path = tmp_path / "01_strings.ipynb"
    nbformat.write(nb, path)
    assert [text for *_, text in T.sentences(code)] == ["x is {x:.1f} here", "x is two, as set"]  # "ok" and the label are no sentences
    catalog = T.update_catalog(path)
    chinese = {"x is {x:.1f} here": "x 在这里是 {x}", "x is two, as set": "x 是 2，正如设定的那样"}
    for message in catalog:
        if message.id:
            message.string = chinese[message.id]
    T.write_catalog(catalog, T.catalog_path(path))
    assert T.problems(path) == ["01_strings.ipynb, cell c0 (string): the translation must keep the fields ['{x:.1f}'] and add no quote or "
                                "backslash: 'x 在这里是 {x}'"]
    catalog = T.read_catalog(T.catalog_path(path))
    catalog.get("x is {x:.1f} here", context="string").string = "x 在这里是 {x:.1f}"
    T.write_catalog(catalog, T.catalog_path(path))
    assert T.problems(path) == []
    assert T.translate_notebook(path).cells[0].source == ('x = 2\nprint(f"x 在这里是 {x:.1f}", "ok")\nassert x == 2, "x 是 2，正如设定的那样"\n'
                                                          'name = "not printed at all"')


def test_what_a_figure_or_a_widget_shows_is_translated_and_keys_are_not():
    code = ('plt.plot(x, y, label="this run", color="C1")\nax.set(title=f"step {s}", xlabel="step", ylim=(0, 1))\n'
            'show_images(images, ["outline"] * 6 + [f"seed {i}" for i in range(3)], cols=6)\n'
            'titles = ["zero-conv weight norm", "loss"]\nscores = {"red": 1, "Canny alone": 2}\n'
            'fidelity_plot(x, f1, "controlnet_conditioning_scale", baseline=0.2)\n'
            'guess = widgets.RadioButtons(options=["both", "neither"], description="follows:")')
    expected = ["this run", "step {s}", "step", "outline", "seed {i}", "zero-conv weight norm", "loss", "both", "neither", "follows:"]
    assert [text for *_, text in T.sentences(code)] == expected  # colours, keys and argument names stay
