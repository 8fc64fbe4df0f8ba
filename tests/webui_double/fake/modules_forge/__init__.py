"""Fake ``modules_forge`` package (installed in Forge mode only, so ``find_spec`` detects Forge)."""
