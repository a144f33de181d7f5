"""``tensorrag modal deploy``: deploy the worker app from the project folder, with errors that say what to do."""

from __future__ import annotations

import importlib.util
import os
import sys

__all__ = ["deploy"]


def deploy(app: str | None, modules: list[str], secrets: list[str], hf_volume: str | None) -> int:
    """Deploy the worker app with ``modules`` (found from the working directory) and ``secrets``; an exit code."""
    from tensorrag.executors.modal_options import has_token, modal_config_path

    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # `--module my_cards` means ./my_cards.py, as `python -c "import my_cards"` would
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            print(f"error: cannot find module {module!r} from {cwd}: run `tensorrag modal deploy` in the folder that "
                  f"holds {module}.py (or its package), or install it (pip install -e .).", file=sys.stderr)
            return 2
    if not has_token():
        print(f"error: Modal credentials are missing (no MODAL_TOKEN_ID/MODAL_TOKEN_SECRET, no {modal_config_path()}): "
              "run `modal token new`, then deploy again.", file=sys.stderr)
        return 2
    # The app module reads its name, modules, secrets and volume from the environment when it is imported.
    for name, value in (("TENSORRAG_MODAL_APP", app), ("TENSORRAG_MODAL_MODULES", ",".join(modules)),
                        ("TENSORRAG_MODAL_SECRETS", ",".join(secrets)), ("TENSORRAG_MODAL_HF_VOLUME", hf_volume)):
        if value:
            os.environ[name] = value
    try:
        import modal

        from tensorrag.executors import modal_app
    except ImportError as exc:
        print(f"error: {exc}. Install it with: pip install 'tensorrag[modal]'", file=sys.stderr)
        return 2
    try:
        return modal_app.main(["deploy"])
    except modal.exception.AuthError as exc:
        print(f"error: Modal rejected the credentials: {exc}. Run `modal token new`, then deploy again.",
              file=sys.stderr)
    except modal.exception.ModuleNotMountable as exc:
        print(f"error: Modal cannot add a module to the image: {exc}. Deploy from the folder that holds it, and "
              "make sure it is plain Python source (not an installed wheel or a C extension).", file=sys.stderr)
    except Exception as exc:  # modal's other errors: network, quota, a bad secret name
        print(f"error: deploying failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 2
