"""``modules.errors`` (A1111 v1.10.1 modules/errors.py): report/display print to stderr.

The double also appends every report to ``Double.errors`` so a test can assert that no hook
exception was swallowed (the real ScriptRunner swallows and logs them, scripts.py L820-996).
"""

from __future__ import annotations

import sys
import textwrap
import traceback

from modules import _double

exception_records: list[dict] = []


def format_traceback(tb) -> list:
    frames = traceback.extract_tb(tb)
    return [[f"{frame.filename}, line {frame.lineno}, {frame.name}", frame.line] for frame in frames]


def format_exception(e: BaseException, tb) -> dict:
    return {"exception": str(e), "traceback": format_traceback(tb)}


def get_exceptions() -> list:
    return list(reversed(exception_records))


def record_exception() -> None:
    _, e, tb = sys.exc_info()
    if e is None or (exception_records and exception_records[-1] == e):
        return
    record = format_exception(e, tb)
    exception_records.append(record)
    if len(exception_records) > 5:
        del exception_records[0]  # only the most recent ones are kept


def _log(message: str, exc: str | None) -> None:
    double = _double()
    if double is not None:
        double.errors.append(message if exc is None else f"{message}\n{exc}")


def report(message: str, *, exc_info: bool = False) -> None:
    """Print ``*** message`` (and the traceback) to stderr, like errors.py L37-49."""
    record_exception()
    print("".join(f"*** {line}\n" for line in message.splitlines()), end="", file=sys.stderr)
    exc = None
    if exc_info:
        exc = traceback.format_exc()
        print(textwrap.indent(exc, "    "), file=sys.stderr)
        print("---", file=sys.stderr)
    _log(message, exc)


def print_error_explanation(message: str) -> None:
    record_exception()
    print(message, file=sys.stderr)


def display(e: BaseException, task: str | None, *, full_traceback: bool = False) -> None:
    record_exception()
    text = "".join(traceback.TracebackException.from_exception(e).format())
    heading = f"{task or 'error'}: {type(e).__name__}"
    print(heading, file=sys.stderr)
    print(text, file=sys.stderr)
    _log(f"{heading}: {e}", text)


already_displayed: dict = {}


def display_once(e: BaseException, task: str) -> None:
    if task not in already_displayed:
        display(e, task)
        already_displayed[task] = 1


def run(code, task: str) -> None:
    try:
        code()
    except Exception as e:
        display(e, task)
