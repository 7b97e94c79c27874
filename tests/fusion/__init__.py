"""Tests of :mod:`mmtutorial.fusion`, one file per module of the package.

This folder is a package so that its test modules get unique names
(``fusion.test_base``) next to test files of the same name elsewhere under
``tests/``; ``tests/conftest.py`` still applies to every test in it.
"""
