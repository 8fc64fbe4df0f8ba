"""Fake ``extensions`` namespace (A1111 mode): holds the fake sd-webui-controlnet extension."""
