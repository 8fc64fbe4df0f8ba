"""``modules.util`` subset."""

from modules.scripts import topological_sort  # noqa: F401
from modules.shared import html, html_path, listfiles, natural_sort_key, walk_files  # noqa: F401


def truncate_path(target_path: str, base_path: str = ".") -> str:
    return target_path
