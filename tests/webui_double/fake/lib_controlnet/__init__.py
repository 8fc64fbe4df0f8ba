"""Fake Forge built-in ControlNet library (``extensions-builtin/sd_forge_controlnet/lib_controlnet``)."""
