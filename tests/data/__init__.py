"""Tests of mmtutorial.data: the contract (test_base.py) and one file per data module."""
