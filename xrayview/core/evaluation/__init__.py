"""Evaluation of the enhancement on the test split: methods as recipes, super-resolution
and dehazing protocols, tables and figures."""
