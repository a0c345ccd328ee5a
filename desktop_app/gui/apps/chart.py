"""The chart component (line, bar, pie) on QtCharts, from a list of objects.

`x` names the labels' key and `y` the values' key (or a list of keys: one series each).
Without `x`/`y`, objects with `label`/`value` keys (or plain numbers) are read.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication

from desktop_app.apps.kinds import CHART_KINDS
from desktop_app.apps.model import Component
from desktop_app.gui.apps.base import ComponentView, Host


def chart_points(data: Any, x: Any, y: Any) -> tuple[list[str], dict[str, list[float]]]:
    """(labels, {series name: values}) from a list of objects or numbers."""
    rows = data if isinstance(data, list) else []
    x_key = x if isinstance(x, str) and x else "label"
    y_keys = [k for k in y if isinstance(k, str)] if isinstance(y, list) else \
        [y if isinstance(y, str) and y else "value"]
    labels: list[str] = []
    series: dict[str, list[float]] = {k: [] for k in y_keys}
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            labels.append(str(row.get(x_key, i + 1)))
            for k in y_keys:
                v = row.get(k)
                series[k].append(float(v) if isinstance(v, (int, float)) else 0.0)
        elif isinstance(row, (int, float)):
            labels.append(str(i + 1))
            series[y_keys[0]].append(float(row))
    return labels, series


class ChartView(ComponentView):
    def __init__(self, component: Component, host: Host) -> None:
        super().__init__(component, host)
        self.chart = QChart()
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.setMargins(self.chart.margins() * 0)
        dark = QApplication.instance().property("tidemill_theme") == "dark"  # type: ignore[union-attr]
        self.chart.setTheme(QChart.ChartTheme.ChartThemeDark if dark else
                            QChart.ChartTheme.ChartThemeLight)
        self.chart.setBackgroundRoundness(0)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.outer.addWidget(self.view, 1)
        self._shown: Any = None
        self.finish()

    def update_body(self) -> None:
        kind = self.prop("kind")
        if kind not in CHART_KINDS:
            self.prop_errors["kind"] = f"{kind!r} is not a chart kind: line, bar or pie"
            kind = "bar"
        labels, series = chart_points(self.prop("data"), self.prop("x"), self.prop("y"))
        title = self.prop("title")
        key = (kind, labels, series, title)
        if key == self._shown:
            return
        self._shown = key
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
        self.chart.setTitle(str(title or ""))
        if kind == "pie":
            pie = QPieSeries()
            values = next(iter(series.values()), [])
            for label, value in zip(labels, values, strict=False):
                pie.append(label, value).setLabelVisible(True)
            self.chart.addSeries(pie)
            self.chart.legend().setVisible(True)
            return
        self.chart.legend().setVisible(len(series) > 1)
        axis_x = QBarCategoryAxis()
        axis_x.append(labels)
        axis_y = QValueAxis()
        top = max([v for vs in series.values() for v in vs] + [0.0])
        low = min([v for vs in series.values() for v in vs] + [0.0])
        axis_y.setRange(low, top * 1.1 if top > 0 else 1.0)
        axis_y.applyNiceNumbers()
        if all(v.is_integer() for vs in series.values() for v in vs):
            axis_y.setLabelFormat("%.0f")
        self.chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        if kind == "bar":
            bars = QBarSeries()
            for name, values in series.items():
                bar_set = QBarSet(name)
                bar_set.append(values)
                bars.append(bar_set)
            self.chart.addSeries(bars)
            bars.attachAxis(axis_x)
            bars.attachAxis(axis_y)
            return
        for name, values in series.items():
            line = QLineSeries()
            line.setName(name)
            line.setPointsVisible(True)
            for i, v in enumerate(values):
                line.append(i, v)
            self.chart.addSeries(line)
            # a category axis places point i at the i-th label
            line.attachAxis(axis_x)
            line.attachAxis(axis_y)

    def shown(self) -> dict[str, Any]:
        """What the chart draws, read back from its QtCharts series (for tests)."""
        out: dict[str, Any] = {"title": self.chart.title(), "series": {}}
        for s in self.chart.series():
            if isinstance(s, QPieSeries):
                out["kind"] = "pie"
                out["series"]["pie"] = {sl.label(): sl.value() for sl in s.slices()}
            elif isinstance(s, QBarSeries):
                out["kind"] = "bar"
                for bar_set in s.barSets():
                    out["series"][bar_set.label()] = [bar_set.at(i)
                                                      for i in range(bar_set.count())]
            elif isinstance(s, QLineSeries):
                out["kind"] = "line"
                out["series"][s.name()] = [p.y() for p in s.points()]
        axes = [a for a in self.chart.axes() if isinstance(a, QBarCategoryAxis)]
        out["labels"] = list(axes[0].categories()) if axes else []
        return out
