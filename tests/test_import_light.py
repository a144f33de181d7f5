"""``import tensorrag`` stays light: fresh interpreters, checked through ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# Only the card that needs one of these imports it, when it runs.
ML = ["torch", "transformers", "modal", "anywidget", "s3fs", "fastapi", "sklearn", "matplotlib", "peft", "trl"]
# The data stack: imported at its use sites (storage, codecs, previews), never by `import tensorrag` itself.
DATA = ["numpy", "pandas", "pyarrow", "fsspec", "pydantic", "networkx", "joblib", "tqdm", "regex"]


_PRELUDE = (
    "import json, sys\ndef loaded(names):\n    return sorted({m.split('.')[0] for m in sys.modules} & set(names))\n"
)


def _fresh(code: str, cwd: Path | None = None) -> list:
    """Run ``code`` in a new interpreter (``loaded(names)`` is predefined) and return its last printed JSON."""
    out = subprocess.run([sys.executable, "-c", _PRELUDE + code], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


class TestImportIsLight:
    def test_no_ml_libraries_on_import_or_building(self):
        code = (
            f"ml = {ML!r}\n"
            "import tensorrag as tr\n"
            "after_import = loaded(ml)\n"
            "p = tr.Pipeline('x')\n"
            "p.add('data_load', id='load')\n"
            "p.add('data_split', id='split')\n"
            "p.connect('load', 'split')\n"
            "p.validate()\n"
            "tr.list_cards()\n"
            "print(json.dumps([after_import, loaded(ml)]))\n"
        )
        after_import, after_building = _fresh(code)
        assert after_import == []
        # building and validating a pipeline of built-ins needs no ML library either (they load when cards run)
        assert after_building == []

    def test_no_data_stack_on_import(self):
        code = (
            f"data = {DATA!r}\n"
            "import tensorrag as tr\n"
            "from tensorrag import storage, executors, cards\n"
            "from tensorrag.storage import ArtifactStore\n"
            "from tensorrag.executors import LocalExecutor\n"
            "print(json.dumps(loaded(data)))\n"
        )
        assert _fresh(code) == []

    def test_every_public_name_is_there_without_the_data_stack(self):
        code = (
            f"data = {DATA!r}\n"
            "import tensorrag as tr\n"
            "missing = [name for name in tr.__all__ if getattr(tr, name, None) is None]\n"
            "print(json.dumps([missing, loaded(data)]))\n"
        )
        missing, data = _fresh(code)
        assert missing == []
        assert data == []

    def test_a_dataframe_pipeline_runs_after_a_light_import(self, tmp_path):
        code = (
            f"data = {DATA!r}\n"
            "import tensorrag as tr\n"
            "light = loaded(data)\n"
            "import pandas as pd\n"
            "@tr.card\n"
            "def make() -> pd.DataFrame:\n"
            "    return pd.DataFrame({'x': [1.0, 2.0, float('nan')], 'when': pd.to_datetime(['2024-01-01'] * 3)})\n"
            "@tr.card\n"
            "def double(df: pd.DataFrame, factor: float = 2.0) -> pd.DataFrame:\n"
            "    return df.assign(x=df['x'] * factor)\n"
            "p = tr.Pipeline('light')\n"
            "p.add(make, id='make')\n"
            "p.add(double, id='double', factor=3.0)\n"
            "p.connect('make', 'double')\n"
            "run = p.run(storage='store', progress=False, echo=False)\n"
            "run.raise_for_status()\n"
            "out = run.output('double')\n"
            "preview = run.preview('double')\n"
            "print(json.dumps([light, type(out).__name__, out['x'].tolist()[:2], preview['shape'],\n"
            "                  preview['rows'][0], preview['rows'][2]['x']]))\n"
        )
        light, kind, xs, shape, first_row, missing = _fresh(code, tmp_path)
        assert light == []
        assert kind == "DataFrame"
        assert xs == [3.0, 6.0]
        assert shape == {"rows": 3, "cols": 2}
        assert first_row == {"x": 3.0, "when": "2024-01-01T00:00:00"}
        assert missing is None  # NaN previewed as null
