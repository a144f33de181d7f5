"""The editing steps of the real JupyterLab test (tests/widget/test_jupyterlab.py): undo of a delete,
copy/paste, find, our context menu instead of JupyterLab's, disabling a node, and the dark theme."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from .browser import run_in_new_cell


def editing_steps(page: Any, canvas: Any, shot: Any) -> None:
    """Run after the main scenario (8 nodes, the last one ``from_python``); ``shot(page, name, what)``."""
    nodes = canvas.locator(".react-flow__node")
    count = nodes.count()
    # undo of a delete: the node comes back in the canvas and in Python
    canvas.scroll_into_view_if_needed()
    canvas.locator('[data-testid="node-from_python"]').click()
    canvas.locator('[aria-label="Close panel"]').click()
    page.keyboard.press("Delete")
    expect(nodes).to_have_count(count - 1)
    assert "GONE True" in run_in_new_cell(page, "print('GONE', 'from_python' not in p.nodes)")
    canvas.scroll_into_view_if_needed()
    canvas.locator('[data-testid="btn-undo"]').click()
    expect(canvas.locator('[data-testid="node-from_python"]')).to_be_visible()
    out = run_in_new_cell(page, "print('BACK', p.nodes['from_python'].card_type, dict(p.nodes['from_python'].config))")
    assert "BACK model_define {'model_type': 'lasso'}" in out

    # copy / paste: a new node with a new id, in Python too
    canvas.scroll_into_view_if_needed()
    canvas.locator('[data-testid="node-define"]').click()
    canvas.locator('[aria-label="Close panel"]').click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(nodes).to_have_count(count + 1)
    out = run_in_new_cell(page, "print('PASTED', sorted(n for n in p.nodes if n.startswith('model_define-')))")
    assert re.search(r"PASTED \['model_define-\d+'\]", out), out

    # find: Ctrl+F, a config value, Enter jumps to the node
    canvas.scroll_into_view_if_needed()
    canvas.locator('[data-testid="btn-find"]').click()
    canvas.locator('[data-testid="find-input"]').fill("diabetes")
    canvas.locator('[data-testid="find-input"]').press("Enter")
    expect(canvas.locator('.react-flow__node[data-id="load"]')).to_have_class(re.compile("trc-found"))
    canvas.locator('[data-testid="find-input"]').press("Escape")

    # right-click: our menu, not JupyterLab's cell menu; disable from it reaches Python
    canvas.locator('[data-testid="node-train"]').click(button="right")
    expect(canvas.locator('[data-testid="context-menu"]')).to_be_visible()
    expect(page.locator(".lm-Menu.jp-ContextMenu, .lm-Menu:visible")).to_have_count(0)
    shot(page, "5-context-menu", canvas)
    canvas.locator('[data-testid="menu-disable"]').click()
    expect(canvas.locator('[data-testid="node-train"]')).to_have_class(re.compile("trc-disabled"))
    assert "DISABLED True" in run_in_new_cell(page, "print('DISABLED', p.nodes['train'].disabled)")

    # JupyterLab's dark theme: the canvas follows
    page.click(".lm-MenuBar-itemLabel:text-is('Settings')")
    page.hover(".lm-Menu-itemLabel:text-is('Theme')")
    page.click(".lm-Menu-itemLabel:text-is('JupyterLab Dark')")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=30_000)
    expect(canvas).to_have_attribute("data-theme", "dark")
    expect(canvas.locator(".react-flow")).to_have_class(re.compile(r"\bdark\b"))
    page.wait_for_timeout(500)  # the theme's stylesheet settles before the screenshot
    canvas.scroll_into_view_if_needed()
    shot(page, "6-dark", canvas)
