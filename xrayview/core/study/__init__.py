"""Reader studies (Qt-free): definition, preparation, schedules, answer store, analysis.

Modules: ``definition`` (TOML study file), ``prepare`` (enhanced images with provenance),
``schedule`` (per-reader randomised trial order), ``store`` (SQLite per reader) and
``analysis`` (export rows and summary statistics).
"""
