from __future__ import annotations
import __future__

import json
import subprocess
import sys
import types

import tensorrag

HEAVY = ["torch", "transformers", "modal", "anywidget", "s3fs", "fastapi", "sklearn", "matplotlib", "peft", "trl"]


class TestAll:
    def test_sorted(self):
        assert tensorrag.__all__ == sorted(tensorrag.__all__)

    def test_no_duplicates(self):
        assert len(set(tensorrag.__all__)) == len(tensorrag.__all__)

    def test_every_name_exists(self):
        missing = [name for name in tensorrag.__all__ if not hasattr(tensorrag, name)]
        assert missing == []

    def test_every_public_attribute_is_listed(self):
        public = [
            name
            for name, value in vars(tensorrag).items()
            if not name.startswith("_")
            and not isinstance(value, types.ModuleType)
            and not isinstance(value, __future__._Feature)  # `from __future__ import annotations`
        ]
        unlisted = sorted(set(public) - set(tensorrag.__all__))
        assert unlisted == []

    def test_core_names(self):
        for name in ("Pipeline", "BaseCard", "card", "register", "list_cards", "Run", "TensorragError", "__version__"):
            assert name in tensorrag.__all__

    def test_version(self):
        assert isinstance(tensorrag.__version__, str)
        assert tensorrag.__version__[0].isdigit()

    def test_errors_are_the_same_objects(self):
        from tensorrag import errors

        for name in errors.__all__:
            assert getattr(tensorrag, name) is getattr(errors, name)


class TestImportIsLight:
    def test_no_heavy_modules_on_import(self):
        code = (
            "import json, sys\n"
            f"heavy = set({HEAVY!r})\n"
            "def loaded():\n"
            "    return sorted({m.split('.')[0] for m in sys.modules} & heavy)\n"
            "import tensorrag as tr\n"
            "after_import = loaded()\n"
            "p = tr.Pipeline('x')\n"
            "p.add('data_load', id='load')\n"
            "p.add('data_split', id='split')\n"
            "p.connect('load', 'split')\n"
            "p.validate()\n"
            "tr.list_cards()\n"
            "print(json.dumps([after_import, loaded()]))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
        after_import, after_building = json.loads(out.stdout.strip().splitlines()[-1])
        assert after_import == []
        # building and validating a pipeline of built-ins needs no ML library either (they load when cards run)
        assert after_building == []
