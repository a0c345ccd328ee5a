"""The editor's widgets on their own: every form field kind, results, highlighting, find/replace."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QDateEdit, QDateTimeEdit, QLineEdit

from desktop_app.gui.code_editor import CodePane
from desktop_app.gui.highlighter import SCHEMES
from desktop_app.gui.history_dialog import diff_html, diff_lines
from desktop_app.gui.results_view import ResultView, describe, failing_line
from desktop_app.gui.schema_form import (
    ArrayEditor,
    BoolEditor,
    DateEditor,
    DateTimeEditor,
    EnumEditor,
    FileEditor,
    JsonEditor,
    MultilineEditor,
    ObjectEditor,
    ResourceEditor,
    SchemaForm,
    StringEditor,
)

EVERY_KIND: dict[str, Any] = {
    "type": "object",
    "required": ["title", "count", "when"],
    "properties": {
        "title": {"type": "string", "originalType": "string", "default": "hello"},
        "body": {"type": "string", "format": "multiline"},
        "token": {"type": "string", "password": True},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "ratio": {"type": "number", "default": 0.25},
        "enabled": {"type": "boolean", "default": True},
        "colour": {"type": "string", "originalType": "enum", "enum": ["red", "green"]},
        "when": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date", "default": "2026-03-04"},
        "blob": {"type": "string", "contentEncoding": "base64", "originalType": "bytes"},
        "names": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
        "numbers": {"type": "array", "items": {"type": "number"}},
        "rows": {"type": "array", "items": {"type": "object",
                                            "properties": {"k": {"type": "string"}}}},
        "point": {"type": "object", "properties": {"x": {"type": "integer"},
                                                   "y": {"type": "integer"}}},
        "db": {"type": "object", "format": "resource-postgresql"},
        "anything": {"type": "object", "properties": {}},
        "email": {"type": "string", "format": "email"},
    },
}


def test_every_field_kind_gets_its_widget_defaults_and_values(qapp: Any, tmp_path: Path) -> None:
    form = SchemaForm(EVERY_KIND)
    f = form.fields
    expected = {"title": StringEditor, "body": MultilineEditor, "token": StringEditor,
                "count": StringEditor, "ratio": StringEditor, "enabled": BoolEditor,
                "colour": EnumEditor, "when": DateTimeEditor, "day": DateEditor,
                "blob": FileEditor, "names": ArrayEditor, "numbers": ArrayEditor,
                "rows": ArrayEditor, "point": ObjectEditor, "db": ResourceEditor,
                "anything": JsonEditor, "email": StringEditor}
    assert {n: type(x.editor) for n, x in f.items()} == expected
    assert isinstance(f["when"].editor, QDateTimeEdit) and isinstance(f["day"].editor, QDateEdit)
    assert f["token"].editor.echoMode() == QLineEdit.EchoMode.Password
    assert [f[n].required for n in ("title", "count", "when", "body")] == [True, True, True, False]
    assert "*" in f["count"].label.text() and "*" not in f["body"].label.text()
    # defaults filled in
    assert f["title"].editor.text() == "hello" and f["ratio"].editor.text() == "0.25"
    assert f["enabled"].editor.isChecked()
    assert [e.text() for e in f["names"].editor.editors()] == ["a", "b"]

    f["count"].editor.setText("4")
    f["body"].editor.setPlainText("line 1\nline 2")
    f["token"].editor.setText("s3cret")
    f["colour"].editor.setCurrentText("green")
    f["when"].editor.set_value("2026-05-06T07:08:09Z")
    blob = tmp_path / "b.bin"
    blob.write_bytes(b"\x00\x01binary")
    f["blob"].editor.load_file(blob)
    f["numbers"].editor.add_row().setText("2.5")
    f["numbers"].editor.add_row().setText("7")
    f["rows"].editor.add_row({"k": "v"})
    f["point"].editor.form.fields["x"].editor.setText("3")
    f["point"].editor.form.fields["y"].editor.setText("-4")
    f["db"].editor.set_value("$res:f/res/main_db")
    f["anything"].editor.setPlainText('{"a": [1, 2]}')
    args = form.collect()
    assert args == {
        "title": "hello", "body": "line 1\nline 2", "token": "s3cret", "count": 4, "ratio": 0.25,
        "enabled": True, "colour": "green", "when": "2026-05-06T07:08:09Z", "day": "2026-03-04",
        "blob": base64.b64encode(b"\x00\x01binary").decode(), "names": ["a", "b"],
        "numbers": [2.5, 7.0], "rows": [{"k": "v"}], "point": {"x": 3, "y": -4},
        "db": "$res:f/res/main_db", "anything": {"a": [1, 2]}}


def test_bad_values_get_a_message_beside_their_field(qapp: Any) -> None:
    form = SchemaForm(EVERY_KIND)
    f = form.fields
    f["title"].editor.setText("")
    f["count"].editor.setText("0")
    f["ratio"].editor.setText("1/4")
    f["email"].editor.setText("ada@")
    f["point"].editor.form.fields["x"].editor.setText("left")
    f["names"].editor.add_row()  # left empty
    assert form.collect() is None
    assert f["title"].error.text() == "required"
    assert f["count"].error.text() == "must be at least 1"
    assert f["ratio"].error.text() == "“1/4” is not a number"
    assert f["email"].error.text() == "“ada@” is not an email address"
    assert f["point"].error.text() == "fix the fields inside"
    assert f["point"].editor.form.fields["x"].error.text() == "“left” is not a whole number"
    assert f["names"].error.text() == "item 3 is empty: fill it or remove it"
    assert f["when"].error.text() == ""  # a required date-time always has a value


def test_a_union_of_object_types_picks_a_variant(qapp: Any) -> None:
    from desktop_app.gui.schema_form import VariantEditor
    from desktop_app.parsing import script_schema

    code = ('type Shape = {kind: "circle", radius: number} | {kind: "square", side: number};\n'
            'export async function main(shape: Shape) { return shape; }\n')
    form = SchemaForm(script_schema(code, "deno"))
    shape = form.fields["shape"].editor
    assert isinstance(shape, VariantEditor)
    assert [shape.choice.itemText(i) for i in range(shape.choice.count())] == \
        [v["title"] for v in form.fields["shape"].prop["oneOf"]]
    kinds = [f.fields["kind"] for f in shape.forms]
    assert [k.editor.value() for k in kinds] == ["circle", "square"]
    assert not kinds[0].editor.isEnabled()  # the discriminator is fixed per variant
    shape.choice.setCurrentIndex(1)
    shape.current_form().fields["side"].editor.setText("4")
    assert form.collect() == {"shape": {"kind": "square", "side": 4}}
    shape.set_value({"kind": "circle", "radius": 2})
    assert shape.choice.currentIndex() == 0
    assert form.collect() == {"shape": {"kind": "circle", "radius": 2}}


def test_array_rows_are_added_and_removed(qapp: Any) -> None:
    form = SchemaForm({"properties": {"tags": {"type": "array", "items": {"type": "string"}}}})
    tags = form.fields["tags"].editor
    assert tags.empty.isVisibleTo(tags) and form.collect() == {}
    tags.add_button.click()
    tags.add_button.click()
    tags.add_button.click()
    for editor, text in zip(tags.editors(), ("x", "y", "z"), strict=True):
        editor.setText(text)
    tags.remove_row(tags.editors()[1])
    assert form.collect() == {"tags": ["x", "z"]}
    for editor in list(tags.editors()):
        tags.remove_row(editor)
    assert form.collect() == {} and tags.empty.isVisibleTo(tags)


def test_typed_values_survive_a_rebuilt_form(qapp: Any) -> None:
    old = SchemaForm(EVERY_KIND)
    old.fields["count"].editor.setText("not yet a number")
    old.fields["names"].editor.add_row().setText("c")
    old.fields["point"].editor.form.fields["x"].editor.setText("9")
    schema = {**EVERY_KIND, "properties": {**EVERY_KIND["properties"],
                                           "title": {"type": "integer"}}}
    new = SchemaForm(schema)
    new.restore(old.snapshot())
    assert new.fields["count"].editor.text() == "not yet a number"
    assert [e.text() for e in new.fields["names"].editor.editors()] == ["a", "b", "c"]
    assert new.fields["point"].editor.form.fields["x"].editor.text() == "9"
    assert new.fields["title"].editor.text() == ""  # its kind changed: not carried over


def _png_base64(colour: str) -> str:
    image = QImage(8, 6, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return base64.b64encode(bytes(data.data())).decode()


def test_results_show_as_tree_table_image_and_error(qapp: Any) -> None:
    view = ResultView()
    assert view.show_result({"a": {"b": [1, 2, 3]}, "c": "x"}) == "tree"
    top = view.tree.topLevelItem(0)
    assert (top.text(0), top.text(1)) == ("a", "{1 key}")
    assert top.child(0).text(1) == "[3 items]" and top.child(0).child(2).text(1) == "3"

    rows = [{"name": "b", "size": 10}, {"name": "a", "size": 9}, {"name": "c", "size": 100}]
    assert view.show_result(rows) == "table"
    assert [view.table.horizontalHeaderItem(i).text() for i in range(2)] == ["name", "size"]
    view.table.sortItems(1, Qt.SortOrder.AscendingOrder)  # what clicking the header does
    assert [view.table.item(r, 1).text() for r in range(3)] == ["9", "10", "100"]  # numerically
    assert view.show_result({"table-col": {"x": [1, 2], "y": [3, 4]}}) == "table"
    assert view.table.rowCount() == 2

    for key in ("png", "jpeg", "gif"):
        wrapped = {key: _png_base64("#ff0000")} if key == "png" else \
            {key: {"content": _png_base64("#00ff00")}}
        assert view.show_result(wrapped) == "image"
        pixmap = view.image.pixmap()
        assert (pixmap.width(), pixmap.height()) == (8, 6)
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" ' \
          'height="10" fill="blue"/></svg>'
    assert view.show_result({"svg": svg}) == "image"
    assert view.image.pixmap().width() == 20
    assert view.image.pixmap().toImage().pixelColor(5, 5) == QColor("blue")

    stack = ('Traceback (most recent call last):\n  File "/tmp/j/main.py", line 7, in main\n'
             '    return helper()\n  File "/tmp/j/main.py", line 3, in helper\n    1 / 0\n'
             'ZeroDivisionError: division by zero\n')
    err = {"error": {"name": "ZeroDivisionError", "message": "division by zero", "stack": stack}}
    code = "def helper():\n    x = 1\n    1 / 0\n\n\n\ndef main():\n    return helper()\n"
    assert view.show_result(err, success=False, code=code) == "error"
    assert view.error_line_number == 3 and "1 / 0" in view.error_line.text()
    marked = [s.cursor.block().text() for s in view.error_stack.extraSelections()]
    assert marked == ['  File "main.py", line 3, in helper']  # the job's folder left out

    assert view.show_result({"render_all": [{"json": {"a": 1}}, {"png": _png_base64("red")}]}) \
        == "render_all"
    assert view.show_result(42) == "text" and view.text.toPlainText() == "42"
    view.show_result({"k": 1})
    view.raw_button.setChecked(True)
    assert view.stack.currentWidget() is view.text and '"k": 1' in view.text.toPlainText()


@pytest.mark.parametrize("result,kind", [
    ({"html": "<b>x</b>"}, "html"), ({"md": "# t"}, "markdown"),
    ({"file": {"content": "aGk=", "filename": "a.txt"}}, "file"),
    ([[1, 2], [3, 4]], "table"), ({"table-row-object": [{"a": 1}]}, "table"),
    ({"error": {"message": "boom"}}, "error"), ({"png": 3}, "tree"), ("text", "text"),
])
def test_describe_follows_windmills_rich_display_keys(result: Any, kind: str) -> None:
    assert describe(result) == kind


def test_failing_line_for_python_deno_and_go_stacks() -> None:
    assert failing_line('  File "/x/main.py", line 12, in main') == 12
    assert failing_line("Error: boom\n    at helper (main.ts:4:11)\n    at main (main.ts:9:3)") == 4
    # a Go panic as the runtime reports it (captured from a real run): the script's frame
    # is main.go, the wrapper's is …/script/main.go
    go = ("goroutine 1 [running]:\ntidemill.job/script/inner.helper(...)\n\tmain.go:4\n"
          "tidemill.job/script/inner.main()\n\tmain.go:8 +0x1d\nreflect.Value.call(...)\n"
          "\treflect/value.go:584 +0x8c5\nmain.main()\n\ttidemill.job/script/main.go:74 +0x185\n")
    assert failing_line(go) == 4
    assert failing_line("no frames here") is None


@pytest.mark.parametrize("language,code,word,family", [
    ("python3", "def main(x: int):\n    return 'hi'  # c\n", "def", "keyword"),
    ("python3", 'def main():\n    """doc\n    more doc"""\n', "more", "string"),
    ("deno", "export async function main() {\n  return `x`;\n}\n", "export", "keyword"),
    ("bash", 'name="$1"\necho "hello $name"\n', "echo", "builtin"),
    ("go", "package inner\n\nfunc main() (int, error) { return 1, nil }\n", "func", "keyword"),
    ("postgresql", "-- $1 name\nSELECT 1 FROM t WHERE a = $1::text;\n", "SELECT", "keyword"),
    ("duckdb", "SELECT 42 AS answer;\n", "42", "number"),
])
def test_highlighter_colours_each_language(qapp: Any, language: str, code: str, word: str,
                                           family: str) -> None:
    pane = CodePane(language)
    pane.editor.setPlainText(code)
    colour = QColor(SCHEMES["light"][family][0])
    doc = pane.editor.document()
    block = doc.begin()
    while block.isValid() and word not in block.text():
        block = block.next()
    assert block.isValid()
    start = block.text().index(word)
    coloured = [r for r in block.layout().formats()
                if r.start <= start < r.start + r.length and r.format.foreground().color() == colour]
    assert coloured, f"{word!r} is not coloured as {family} in {language}"


def test_dark_theme_recolours(qapp: Any) -> None:
    pane = CodePane("python3")
    pane.editor.setPlainText("def main():\n    pass\n")
    pane.editor.set_theme("dark")
    fmts = pane.editor.document().begin().layout().formats()
    assert any(r.format.foreground().color() == QColor(SCHEMES["dark"]["keyword"][0]) for r in fmts)


def test_the_editor_follows_a_theme_switched_at_run_time(qapp: Any, qtbot: Any) -> None:
    from desktop_app.gui.theme import apply_theme

    pane = CodePane("python3")
    qtbot.addWidget(pane)
    pane.show()
    pane.editor.setPlainText("def main():\n    pass\n")
    before = qapp.property("tidemill_theme") or "light"
    try:
        apply_theme(qapp, "dark")
        qtbot.waitUntil(lambda: pane.editor.theme == "dark", timeout=3000)
        fmts = pane.editor.document().begin().layout().formats()
        assert any(r.format.foreground().color() == QColor(SCHEMES["dark"]["keyword"][0])
                   for r in fmts)
    finally:
        apply_theme(qapp, before)


def test_find_and_replace(qapp: Any) -> None:
    pane = CodePane("python3")
    ed, bar = pane.editor, pane.find_bar
    ed.setPlainText("alpha beta\nAlpha gamma\nalpha\n")
    bar.open(replace=False)
    assert bar.isVisibleTo(pane) and not bar.replace_row.isVisibleTo(pane)
    bar.find_text.setText("alpha")
    assert bar.count.text() == "3 matches" and len(ed.extraSelections()) == 4  # + current line
    bar.case.setChecked(True)
    assert bar.count.text() == "2 matches"
    assert bar.find_next() and ed.textCursor().selectionStart() == 0
    assert bar.find_next() and ed.textCursor().blockNumber() == 2
    assert bar.find_next() and ed.textCursor().selectionStart() == 0  # wraps around
    bar.open(replace=True)
    bar.replace_text.setText("omega")
    bar.replace_one()
    assert ed.toPlainText() == "omega beta\nAlpha gamma\nalpha\n"
    bar.case.setChecked(False)
    bar.find_text.setText("alpha")
    assert bar.replace_all() == 2
    assert ed.toPlainText() == "omega beta\nomega gamma\nomega\n"
    ed.undo()  # replace-all is one undo step
    assert ed.toPlainText() == "omega beta\nAlpha gamma\nalpha\n"
    bar.close_bar()
    assert not bar.isVisibleTo(pane) and len(ed.extraSelections()) == 1


def test_indentation_keys(qapp: Any, qtbot: Any) -> None:
    pane = CodePane("python3")
    qtbot.addWidget(pane)
    ed = pane.editor
    ed.setPlainText("def main():")
    ed.moveCursor(ed.textCursor().MoveOperation.End)
    qtbot.keyClick(ed, Qt.Key.Key_Return)
    qtbot.keyClicks(ed, "x = 1")
    qtbot.keyClick(ed, Qt.Key.Key_Return)
    assert ed.toPlainText() == "def main():\n    x = 1\n    "
    ed.setPlainText("a\nb\nc")
    ed.selectAll()
    qtbot.keyClick(ed, Qt.Key.Key_Tab)
    assert ed.toPlainText() == "    a\n    b\n    c"
    qtbot.keyClick(ed, Qt.Key.Key_Backtab)
    assert ed.toPlainText() == "a\nb\nc"
    go = CodePane("go").editor
    go.setPlainText("func main() {")
    go.moveCursor(go.textCursor().MoveOperation.End)
    qtbot.keyClick(go, Qt.Key.Key_Return)
    assert go.toPlainText() == "func main() {\n\t"


def test_version_diff_is_coloured() -> None:
    lines = diff_lines("a\nb\n", "a\nc\n", "v1", "v2")
    assert "-b" in lines and "+c" in lines
    page = diff_html(lines, "light")
    assert "#ffebe9" in page and "#e6ffec" in page
    assert "same code" in diff_html([], "dark")


def test_an_edit_recolours_the_lines_after_it(qapp: Any, qtbot: Any) -> None:
    pane = CodePane("python3")
    qtbot.addWidget(pane)
    ed = pane.editor
    ed.setPlainText("x = 1\ny = 2\nz = 3\n")
    string = QColor(SCHEMES["light"]["string"][0])

    def is_string(line: int) -> bool:
        block = ed.document().findBlockByNumber(line)
        return any(r.format.foreground().color() == string and r.start == 0
                   for r in block.layout().formats())
    assert not is_string(2)
    ed.moveCursor(ed.textCursor().MoveOperation.Start)
    qtbot.keyClicks(ed, '"""')  # opens a string that runs to the end
    assert is_string(1) and is_string(2)
    qtbot.keyClick(ed, Qt.Key.Key_Backspace)
    qtbot.keyClick(ed, Qt.Key.Key_Backspace)
    qtbot.keyClick(ed, Qt.Key.Key_Backspace)
    assert not is_string(2)


SAMPLES = {
    "python3": 'import os\n\n\n@decorator\ndef main(x: int = 1, s: str = "a"):\n'
               '    """Doc\n    on two lines."""\n    y = f"{x} and {s}"  # note\n'
               "    return [x, 2.5, 0x1F, 'q', b'raw']\n",
    "deno": "/* a\n block */\nexport async function main(n: number = 2) {\n"
            "  const t = `multi\n  ${n} line`;\n  return { n, t, re: /x+/g };\n}\n",
    "bash": 'name="${1:-world}"\ncat <<EOF\nhello $name\nEOF\nfor i in 1 2; do echo "$i"; done\n',
    "go": "package inner\n\n/* block\ncomment */\nfunc main(x int) (string, error) {\n"
          "\ts := `raw\nstring`\n\treturn s, nil\n}\n",
    "mysql": "-- :name (text)\nSELECT /* inline\n comment */ 'x', 42 FROM t WHERE a = :name;\n",
}


def _merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for start, length, fam in sorted(spans):
        if out and out[-1][2] == fam and out[-1][0] + out[-1][1] == start:
            out[-1] = (out[-1][0], out[-1][1] + length, fam)
        elif length:
            out.append((start, length, fam))
    return out


@pytest.mark.parametrize("language", list(SAMPLES))
def test_line_by_line_highlighting_settles_on_lexing_the_whole_file(
        qapp: Any, qtbot: Any, language: str) -> None:
    from desktop_app.gui.highlighter import SCHEMES, lexer_for, line_by_line

    assert line_by_line(lexer_for(language))
    pane = CodePane(language)
    qtbot.addWidget(pane)
    hl = pane.editor.highlighter
    light = {fam: QColor(c).name() for fam, (c, _b, _i) in SCHEMES["light"].items()}

    def check() -> None:
        block = pane.editor.document().begin()
        while block.isValid():
            shown = _merged([(r.start, r.length, r.format.foreground().color().name())
                             for r in block.layout().formats()])
            whole = _merged([(a, n, light[f]) for a, n, f in hl.spans(block.blockNumber())])
            assert shown == whole, (block.blockNumber(), block.text())
            block = block.next()

    pane.editor.setPlainText(SAMPLES[language])
    qtbot.waitUntil(lambda: hl.full_ready, timeout=5000)
    check()
    # typing inside the file: right again once typing settles
    cursor = pane.editor.textCursor()
    cursor.setPosition(3)
    pane.editor.setTextCursor(cursor)
    qtbot.keyClicks(pane.editor, "/* ")
    qtbot.waitUntil(lambda: hl.full_ready, timeout=5000)
    check()


def test_results_keep_the_scripts_key_order_and_print_json_booleans(qapp: Any) -> None:
    """What comes back from jsonb has its keys sorted; the job's result_columns puts the
    table's columns, the tree's keys and the raw JSON back in the script's order."""
    view = ResultView()
    from_jsonb = [{"age": 36, "name": "Ada", "active": False}, {"age": 41, "name": "Alan"}]
    order = ["name", "age", "active"]
    assert view.show_result(from_jsonb, columns=order) == "table"
    headers = [view.table.horizontalHeaderItem(i).text() for i in range(3)]
    assert headers == ["name", "age", "active"]
    assert [view.table.item(0, c).text() for c in range(3)] == ["Ada", "36", "false"]
    assert view.table.item(1, 2).text() == ""  # a missing key is an empty cell

    view.show_result({"table-col": {"a": [1], "when": [2]}}, columns=["when", "a"])
    assert [view.table.horizontalHeaderItem(i).text() for i in range(2)] == ["when", "a"]
    view.show_result({"table-row": [["z", "a"], [1, 2]]}, columns=["a", "z"])
    assert [view.table.horizontalHeaderItem(i).text() for i in range(2)] == ["z", "a"]

    view.show_result({"b": {"x": 1}, "total": 3}, columns=["total", "b"])
    assert [view.tree.topLevelItem(i).text(0) for i in range(2)] == ["total", "b"]
    view.raw_button.setChecked(True)
    assert view.text.toPlainText().index('"total"') < view.text.toPlainText().index('"b"')
