"""``modules.api`` stand-in package (models + base64 helpers)."""
