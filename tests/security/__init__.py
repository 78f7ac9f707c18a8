"""Regression tests for the holes an attack on the demo found (issue 12),
each written as the attack: it failed on the code before the fix."""
