"""Cards whose config holds floats with integral values (1.0): what JavaScript reads as ints."""

from __future__ import annotations

import tensorrag as tr


@tr.card(category="model")
def w_hyper(hyperparameters: dict | None = None, rate: float = 1.0, sizes: list[float] | None = None,
            steps: int = 3) -> dict:
    """Echo the config (with the Python type of each value) as the output."""
    return {"hyperparameters": hyperparameters, "rate": rate, "sizes": sizes, "steps": steps}
