"""The package version (one place; tests check the widget's package.json against it)."""

__version__ = "0.1.0"
