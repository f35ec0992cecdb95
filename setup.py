"""Packaging that pyproject.toml cannot say: the theme (templates/) and the core migrations
(migrations/) are top-level folders of the checkout, and an installed wheel has no checkout
around it, so they travel inside the package as panel/_templates and panel/_migrations
(panel.paths looks there first). Everything else, their file patterns included, is in
pyproject.toml."""

from setuptools import find_packages, setup

SHIPPED = {"panel._templates": "templates", "panel._migrations": "migrations"}

setup(packages=[*find_packages(include=["panel*", "plugins*"]), *SHIPPED], package_dir=SHIPPED)
