from __future__ import annotations
import __future__

import types

import tensorrag


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

