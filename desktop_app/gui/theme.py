"""Light and dark palettes for the desktop app (Fusion style, so they look the same everywhere)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_COLOURS = {
    "light": {"window": "#f4f5f7", "base": "#ffffff", "alt": "#f0f1f4", "text": "#1d2330",
              "muted": "#6b7280", "button": "#e9ebef", "highlight": "#2f6fdf",
              "hltext": "#ffffff", "nav": "#e8eaee", "error": "#c0392b", "ok": "#1e8e3e",
              "banner": "#fde7e9", "border": "#d0d4db"},
    "dark": {"window": "#1f2228", "base": "#16181d", "alt": "#23262d", "text": "#e3e6eb",
             "muted": "#9aa3b2", "button": "#2c3039", "highlight": "#4a86e8",
             "hltext": "#ffffff", "nav": "#191b20", "error": "#ff6b6b", "ok": "#5ccf7a",
             "banner": "#4a1f24", "border": "#3a3f4a"},
}


def colours(theme: str) -> dict[str, str]:
    return _COLOURS["dark" if theme == "dark" else "light"]


def apply_theme(app: QApplication, theme: str) -> None:
    """Set the Fusion style, a palette and a small style sheet for `theme` (light|dark)."""
    c = colours(theme)
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: c["window"], QPalette.ColorRole.WindowText: c["text"],
        QPalette.ColorRole.Base: c["base"], QPalette.ColorRole.AlternateBase: c["alt"],
        QPalette.ColorRole.Text: c["text"], QPalette.ColorRole.Button: c["button"],
        QPalette.ColorRole.ButtonText: c["text"], QPalette.ColorRole.Highlight: c["highlight"],
        QPalette.ColorRole.HighlightedText: c["hltext"], QPalette.ColorRole.ToolTipBase: c["base"],
        QPalette.ColorRole.ToolTipText: c["text"], QPalette.ColorRole.PlaceholderText: c["muted"],
        QPalette.ColorRole.Mid: c["border"],
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    app.setStyleSheet(f"""
        QListWidget#nav {{ background: {c["nav"]}; border: none; font-size: 14px; outline: 0; }}
        QListWidget#nav::item {{ padding: 10px 14px; }}
        QListWidget#nav::item:selected {{ background: {c['highlight']}; color: {c['hltext']}; }}
        QTreeWidget::item, QTableWidget::item {{ padding: 3px; }}
        QLabel#banner {{ background: {c['banner']}; color: {c['error']}; padding: 8px;
                        font-weight: bold; }}
        QLabel#heading {{ font-size: 18px; font-weight: bold; }}
        QLabel#muted, QLabel#empty {{ color: {c['muted']}; }}
        QLabel#empty {{ font-size: 14px; padding: 24px; }}
        QLabel#fieldError {{ color: {c['error']}; }}
        QLabel#statusOk {{ color: {c['ok']}; font-weight: bold; }}
        QLabel#statusErr {{ color: {c['error']}; font-weight: bold; }}
    """ + _app_styles(c) + (_dark_inputs(c) if theme == "dark" else ""))
    app.setProperty("tidemill_theme", theme)


def _dark_inputs(c: dict[str, str]) -> str:
    """Fusion draws frames and check boxes a shade darker than the window: on a dark window
    that is nearly black on black. Give inputs a visible border and boxes a visible edge."""
    edge = "#5a6172"
    return f"""
        QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QDateTimeEdit,
        QDateEdit {{ border: 1px solid {edge}; border-radius: 3px; background: {c['base']};
            padding: 2px; }}
        QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus {{
            border: 1px solid {c['highlight']}; }}
        QLineEdit:read-only {{ background: {c['alt']}; }}
        QCheckBox::indicator, QTreeView::indicator, QTableView::indicator,
        QListView::indicator {{ width: 13px; height: 13px; border: 1px solid #8a93a6;
            border-radius: 3px; background: {c['base']}; }}
        QCheckBox::indicator:checked, QTreeView::indicator:checked,
        QTableView::indicator:checked, QListView::indicator:checked {{
            background: {c['highlight']}; border: 1px solid {c['highlight']};
            image: url(:/qt-project.org/styles/commonstyle/images/standardbutton-apply-16.png);
        }}
    """


def _app_styles(c: dict[str, str]) -> str:
    """Apps (run mode and builder): cards for framed components, the message bar."""
    return f"""
        QWidget#appBar {{ background: {c['nav']}; border-bottom: 1px solid {c['border']}; }}
        QLabel#appLabel {{ font-weight: bold; }}
        QFrame#appComponent[kind="form"], QFrame#appComponent[kind="container"],
        QFrame#appComponent[kind="json"] {{ background: {c['alt']};
            border: 1px solid {c['border']}; border-radius: 6px; }}
        QLabel#appMessage {{ padding: 8px 12px; font-weight: bold; }}
        QLabel#appMessage[level="success"] {{ color: {c['ok']}; background: {c['alt']}; }}
        QLabel#appMessage[level="error"] {{ color: {c['error']}; background: {c['banner']}; }}
        QPushButton#appButton {{ background: {c['highlight']}; color: {c['hltext']};
            border: none; border-radius: 4px; padding: 6px 12px; font-weight: bold; }}
        QPushButton#appButton:disabled {{ background: {c['button']}; color: {c['muted']}; }}
        QWidget#builderCanvas {{ background: {c['alt']}; }}
        QListWidget#palette::item {{ padding: 5px 6px; }}
        QFrame#appComponent[selected="true"] {{ border: 2px solid {c['highlight']};
            border-radius: 4px; }}
    """
