"""``lib_controlnet.global_state`` (Forge): model/preprocessor registries. ``get_controlnet_filename``
is an exact dict lookup (KeyError otherwise). ``register_model`` is a double helper."""

from __future__ import annotations

controlnet_filename_dict: dict[str, str] = {"None": "model.safetensors"}
controlnet_names: list[str] = ["None"]
preprocessor_names: list[str] = ["None", "canny", "depth_midas", "openpose", "inpaint_only", "ip-adapter_face_id_plus"]


def register_model(name: str, filename: str | None = None) -> None:
    controlnet_filename_dict[name] = filename or f"{name}.safetensors"
    if name not in controlnet_names:
        controlnet_names.append(name)


def get_preprocessor(name: str):
    return name if name in preprocessor_names else None


def get_sorted_preprocessors() -> list[str]:
    return list(preprocessor_names)


def get_all_controlnet_names() -> list[str]:
    return list(controlnet_names)


def get_controlnet_filename(controlnet_name: str) -> str:
    return controlnet_filename_dict[controlnet_name]


def get_all_preprocessor_names() -> list[str]:
    return list(preprocessor_names)


def get_all_preprocessor_tags() -> list[str]:
    return ["All"]


def get_filtered_preprocessor_names(tag: str) -> list[str]:
    return list(preprocessor_names)


def get_filtered_controlnet_names(tag: str) -> list[str]:
    return list(controlnet_names)


def update_controlnet_filenames() -> None:
    pass
