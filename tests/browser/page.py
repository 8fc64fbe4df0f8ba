"""FacePop's panels in a real gradio 3.41 page, built and served the way the A1111 WebUI does it.

* The WebUI double (``tests/webui_double``, mode ``a1111``) provides ``modules``; with real gradio
  installed it patches gradio as the WebUI's ``gradio_extensons`` does (``tooltip=``, component
  callbacks, ``gradio-*`` classes, ``webui_tooltip`` in the page config).
* ``build_runner([facepop.py, facepop_upscale.py])`` loads both scripts like ``load_scripts`` and
  runs their ``ui()`` the way the img2img tab is built: the always-on FacePop accordion after the
  built-in sampler/refiner/seed controls, then the "Script" dropdown with FacePop Upscale's group
  (hidden until it is picked). The runner's nested ``gr.Blocks`` hands its components and events
  to the page's ``Blocks``.
* The page is queued and launched like the WebUI (``demo.queue(64)``, ``launch(server_name=...,
  prevent_thread_lock=True)``) on 127.0.0.1 and a free port, with analytics off.
* JavaScript goes into ``<head>`` as the WebUI does it: gradio's page template response is wrapped
  so that ``</head>`` is preceded by the WebUI globals (``webui_globals.js``, a stand-in for the
  WebUI's ``script.js``) and then one ``<script src="file=...">`` per ``javascript/*.js`` of the
  extension, in name order.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FACE_SCRIPT = ROOT / "scripts" / "facepop.py"
UPSCALE_SCRIPT = ROOT / "scripts" / "facepop_upscale.py"
JAVASCRIPT_DIR = ROOT / "javascript"
GLOBALS_JS = Path(__file__).resolve().with_name("webui_globals.js")
#: system fonts only: gradio's default theme would fetch Google Fonts (the WebUI's theme does not either)
FONTS = (["ui-sans-serif", "system-ui", "sans-serif"], ["ui-monospace", "Consolas", "monospace"])


@dataclass
class ServedPage:
    url: str
    double: Any
    runner: Any
    demo: Any
    scripts: list[Path]

    def script(self, title: str) -> Any:
        return self.double.find_script(self.runner, title)


def extension_scripts() -> list[Path]:
    """The extension's scripts the WebUI would put into ``<head>``, in the order it lists them."""
    return sorted(JAVASCRIPT_DIR.glob("*.js"), key=lambda p: p.name.lower())


def _script_tag(path: Path) -> str:
    # The WebUI links every script through gradio's file route (``file=<path>?<mtime>``). That route
    # refuses paths with a dot-directory in them, so such a checkout gets the file inline instead.
    if any(part.startswith(".") for part in path.parts):
        return f'<script type="text/javascript">\n{path.read_text(encoding="utf-8")}\n</script>\n'
    return f'<script type="text/javascript" src="file={path}?{int(path.stat().st_mtime)}"></script>\n'


def head_html(scripts: list[Path]) -> str:
    """What goes before ``</head>``: the WebUI's globals first, then the extension's scripts."""
    globals_js = GLOBALS_JS.read_text(encoding="utf-8")
    return (f'<script type="text/javascript">\n{globals_js}\n</script>\n'
            + "".join(_script_tag(p) for p in scripts))


@contextlib.contextmanager
def injected_head(html: str) -> Iterator[None]:
    """Wrap gradio's page template so every served index carries ``html`` at the end of ``<head>``."""
    from gradio import routes

    original = routes.templates.TemplateResponse

    def response(*args: Any, **kwargs: Any) -> Any:
        res = original(*args, **kwargs)
        res.body = res.body.replace(b"</head>", html.encode("utf-8") + b"</head>", 1)
        res.init_headers()  # Content-Length
        return res

    routes.templates.TemplateResponse = response
    try:
        yield
    finally:
        routes.templates.TemplateResponse = original


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def other_selectable_script(double: Any) -> type:
    """A second entry for the "Script" dropdown. The WebUI always ships several (Prompt matrix,
    X/Y/Z plot, ...); with a single one, gradio 3.41 would take the dropdown handler's list of
    one visibility update for a value and refuse it."""
    import gradio as gr

    class OtherScript(double.scripts.Script):
        def title(self) -> str:
            return "Other script"

        def ui(self, is_img2img: bool) -> list[Any]:
            return [gr.Textbox(label="Other script's setting", elem_id=self.elem_id("text"))]

        def run(self, p: Any, *args: Any) -> None:
            return None

    return OtherScript


def build_page(double: Any) -> tuple[Any, Any]:
    """The page: an img2img script container holding what ``build_runner`` builds."""
    import gradio as gr

    theme = gr.themes.Default(font=FONTS[0], font_mono=FONTS[1])
    with gr.Blocks(analytics_enabled=False, title="FacePop UI test", theme=theme) as demo:
        with gr.Column(elem_id="img2img_script_container"):
            runner = double.build_runner([str(FACE_SCRIPT), str(UPSCALE_SCRIPT), other_selectable_script(double)],
                                         is_img2img=True)
    return demo, runner


@contextlib.contextmanager
def serve(work_dir: str | os.PathLike | None = None) -> Iterator[ServedPage]:
    """Install the double, build the page, serve it on 127.0.0.1; tear everything down on exit."""
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="facepop-ui-"))
    env = {"GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(work / "gradio"),
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from tests.webui_double import install, uninstall

    demo = None
    try:
        double = install(mode="a1111", tmp_path=work / "webui")
        demo, runner = build_page(double)
        double.assert_no_errors()
        demo.queue(64)
        scripts = extension_scripts()
        with injected_head(head_html(scripts)):
            demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                        show_error=True, inbrowser=False, allowed_paths=[str(JAVASCRIPT_DIR)])
            yield ServedPage(url=demo.local_url, double=double, runner=runner, demo=demo, scripts=scripts)
    finally:
        if demo is not None:
            # uvicorn's graceful shutdown waits without a limit for every task; plan refreshes that the
            # queue still held when the browser went away would keep it waiting.
            server = getattr(demo, "server", None)
            if server is not None:
                server.force_exit = True
            demo.close()
        uninstall()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
