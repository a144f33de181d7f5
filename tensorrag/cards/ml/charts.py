"""PNG charts of the ML cards, drawn with matplotlib's object API on an Agg canvas.

No pyplot and no global backend switch: safe in worker threads, and a notebook's backend is
left alone. matplotlib is imported inside each function (``pip install 'tensorrag[ml]'``).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = ["bar_chart", "render_chart"]


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def render_chart(y_true: Any, y_pred: Any, classification: bool, labels: list[Any] | None = None) -> bytes:
    """Draw the evaluation chart as PNG bytes.

    Regression: predicted vs actual scatter (6x6 in, 100 dpi) with a red dashed y = x line.
    Classification: the confusion matrix (rows actual, columns predicted) with counts.

    The figure is drawn with ``matplotlib.figure.Figure`` on an Agg canvas directly: no pyplot,
    no global backend switch, so it is safe in threads and leaves a notebook's backend alone.

    Args:
        y_true: actual values.
        y_pred: predicted values.
        classification: which chart to draw.
        labels: class order for the confusion matrix (default: sorted union of both).

    Returns:
        The PNG file's bytes.
    """
    fig = _figure(6, 6)
    ax = fig.add_subplot(1, 1, 1)
    if classification:
        from sklearn.metrics import confusion_matrix

        if labels is None:
            labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()), key=repr)
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
        image = ax.imshow(matrix, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ticks = range(len(labels))
        names = [str(label) for label in labels]
        ax.set_xticks(list(ticks), names, rotation=45 if max((len(n) for n in names), default=0) > 3 else 0)
        ax.set_yticks(list(ticks), names)
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in ticks:
            for j in ticks:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    color="white" if matrix[i, j] > threshold else "black",
                )
        ax.set_xlabel("Predicted")
        ax.set_ylabel("Actual")
        ax.set_title("Confusion matrix")
    else:
        actual = np.asarray(y_true, dtype=float)
        predicted = np.asarray(y_pred, dtype=float)
        ax.scatter(actual, predicted, alpha=0.5, s=12)
        if actual.size:
            lo = float(np.nanmin([actual.min(), predicted.min()]))
            hi = float(np.nanmax([actual.max(), predicted.max()]))
            ax.plot([lo, hi], [lo, hi], "r--", linewidth=1.5, label="y = x")
            ax.legend(loc="upper left")
        ax.set_xlabel("Actual")
        ax.set_ylabel("Predicted")
        ax.set_title("Predicted vs actual")
    return _png(fig)


def bar_chart(names: list[str], values: list[float], title: str, xlabel: str) -> bytes:
    """A horizontal bar chart (largest bar on top) as PNG bytes.

    Args:
        names: one label per bar.
        values: the bar lengths, in the order of ``names``.
        title: the chart title.
        xlabel: the value axis label.

    Returns:
        The PNG file's bytes.
    """
    fig = _figure(7, max(2.5, 0.35 * len(names) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    positions = list(range(len(names)))[::-1]
    ax.barh(positions, values, color="#3b82f6")
    ax.set_yticks(positions, names)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _png(fig)
