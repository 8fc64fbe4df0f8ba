"""``modules.images`` (A1111 v1.10.1 modules/images.py; Forge deltas), written from its behaviour.

Faithful: ``save_image`` signature and return ``(fullfn, txt_fullfn)`` (L624-767): sub-directory
from ``directories_filename_pattern`` when ``save_to_dirs``; ``NNNNN[-pattern][suffix].ext`` names
numbered from ``get_next_sequence_number`` and never reusing an existing name (L683-695);
``forced_filename`` bypasses pattern and counter (so it *can* overwrite with the default
"Replace" action, L699/L721); ``before_image_saved`` callbacks may replace image/filename/pnginfo
(L705-710); written via ``.tmp`` + ``os.replace``; PNG text chunks for every pnginfo item when
``enable_pnginfo`` (L577-589); ``.txt`` when ``save_txt``; ``image_saved`` callbacks;
``image.already_saved_as``. Forge: ``p.override_settings["samples_filename_pattern"]`` wins
(Forge images.py L679-685). ``resize_image`` modes 0/1/2 incl. upscaler use (L252-326),
``split_grid``/``combine_grid``/``Grid`` (L69-142), ``flatten``, ``read_info_from_image``.
Simplified: JPEG/WEBP infotext is written as EXIF UserComment through Pillow (no piexif); only the
common filename pattern tags are known (unknown tags stay ``[tag]`` like the real one).
"""

from __future__ import annotations

import datetime
import hashlib
import math
import os
import re
import string
from collections import namedtuple

import numpy as np
from PIL import Image, ImageColor, ImageOps, PngImagePlugin

from modules import _double, script_callbacks, shared
from modules.shared import opts

LANCZOS = Image.Resampling.LANCZOS if hasattr(Image, "Resampling") else Image.LANCZOS
NEAREST = Image.Resampling.NEAREST if hasattr(Image, "Resampling") else Image.NEAREST


def _default_grid_rows(count: int, batch_size: int) -> int:
    """``opts.n_rows``: >0 fixed, 0 = batch size, -1 = about square (without empty cells if asked)."""
    wanted = opts.n_rows
    if wanted > 0:
        return wanted
    if wanted == 0:
        return batch_size
    if not opts.grid_prevent_empty_spots:
        return round(math.sqrt(count))
    rows = math.floor(math.sqrt(count))
    while count % rows:  # the largest divisor of count not above its square root
        rows -= 1
    return rows


def image_grid(imgs: list, batch_size: int = 1, rows: int | None = None) -> Image.Image:
    """Paste images into a grid; rows from ``opts.n_rows`` (L36-66)."""
    count = len(imgs)
    rows = min(_default_grid_rows(count, batch_size) if rows is None else rows, count)
    layout = script_callbacks.ImageGridLoopParams(imgs, math.ceil(count / rows), rows)
    script_callbacks.image_grid_callback(layout)  # callbacks may change cols/rows/imgs
    cell_w, cell_h = max(img.width for img in imgs), max(img.height for img in imgs)
    background = ImageColor.getcolor(opts.grid_background_color, "RGB")
    grid = Image.new("RGB", (layout.cols * cell_w, layout.rows * cell_h), background)
    for index, img in enumerate(layout.imgs):
        row, col = divmod(index, layout.cols)
        left = col * cell_w + (cell_w - img.width) // 2  # smaller images are centred in their cell
        top = row * cell_h + (cell_h - img.height) // 2
        grid.paste(img, box=(left, top))
    return grid


_GridTuple = namedtuple("_Grid", ("tiles", "tile_w", "tile_h", "image_w", "image_h", "overlap"))


class Grid(_GridTuple):
    """``tiles``: ``[[y, h, [[x, w, tile_image], ...]], ...]``."""

    tile_count = property(lambda self: sum(len(columns) for _y, _h, columns in self.tiles))


def _tile_origins(size: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread tile origins; the last one is clamped to ``size - tile`` (split_grid L84-103)."""
    count = math.ceil((size - overlap) / (tile - overlap))
    step = (size - tile) / (count - 1) if count > 1 else 0
    return [size - tile if int(k * step) + tile >= size else int(k * step) for k in range(count)]


def split_grid(image: Image.Image, tile_w: int = 512, tile_h: int = 512, overlap: int = 64) -> Grid:
    """Cut ``image`` into overlapping tiles: ``tiles = [[y, h, [[x, w, tile], ...]], ...]``."""
    w, h = image.size
    grid = Grid([], tile_w, tile_h, w, h, overlap)
    for y in _tile_origins(h, tile_h, overlap):
        row = [[x, tile_w, image.crop((x, y, x + tile_w, y + tile_h))] for x in _tile_origins(w, tile_w, overlap)]
        grid.tiles.append([y, tile_h, row])
    return grid


def _ramp(length: int, across: int, horizontal: bool) -> Image.Image:
    values = (np.arange(length, dtype=np.float32) * 255 / max(length, 1)).astype(np.uint8)
    arr = np.tile(values[None, :], (across, 1)) if horizontal else np.tile(values[:, None], (1, across))
    return Image.fromarray(arr, "L")


def combine_grid(grid: Grid) -> Image.Image:
    """Re-assemble tiles; overlaps blended with a linear ramp, left/top tile first (L114-142)."""
    combined = Image.new("RGB", (grid.image_w, grid.image_h))
    for y, h, row in grid.tiles:
        strip = Image.new("RGB", (grid.image_w, h))
        for x, w, tile in row:
            _place_fading_in(strip, tile, x, grid.overlap, (w, h), horizontal=True)
        _place_fading_in(combined, strip, y, grid.overlap, (grid.image_w, h), horizontal=False)
    return combined


def _place_fading_in(canvas: Image.Image, piece: Image.Image, at: int, overlap: int, size, horizontal: bool) -> None:
    """Paste ``piece`` (``size``) at offset ``at``; its first ``overlap`` pixels fade in over the canvas."""
    if at == 0 or overlap == 0:
        canvas.paste(piece, (at, 0) if horizontal else (0, at))
        return
    w, h = size
    if horizontal:
        head, tail = piece.crop((0, 0, overlap, h)), piece.crop((overlap, 0, w, h))
        canvas.paste(head, (at, 0), mask=_ramp(overlap, h, horizontal=True))
        canvas.paste(tail, (at + overlap, 0))
    else:
        head, tail = piece.crop((0, 0, w, overlap)), piece.crop((0, overlap, w, h))
        canvas.paste(head, (0, at), mask=_ramp(overlap, w, horizontal=False))
        canvas.paste(tail, (0, at + overlap))


def resize_image(resize_mode: int, im: Image.Image, width: int, height: int, upscaler_name: str | None = None,
                 force_RGBA: bool = False) -> Image.Image:  # noqa: N803 - Forge's name
    """0 = just resize, 1 = crop and resize, 2 = resize and fill (L252-326). ``force_RGBA`` is Forge's."""
    forge = _double().forge
    keep_alpha = forge and force_RGBA
    if forge and not force_RGBA and im.mode == "RGBA":
        im = im.convert("RGB")
    upscaler_name = upscaler_name or opts.upscaler_for_img2img
    if resize_mode == 0:
        return _scale_to(im, width, height, upscaler_name, keep_alpha)
    target_ratio, source_ratio = width / height, im.width / im.height
    if resize_mode == 1:  # crop: cover the canvas, the overflow is cut off
        match_width = target_ratio > source_ratio
    else:  # fill: fit inside the canvas, the bands are stretched from the edges
        match_width = target_ratio < source_ratio
    if match_width:
        size = (width, im.height * width // im.width)
    else:
        size = (im.width * height // im.height, height)
    scaled = _scale_to(im, size[0], size[1], upscaler_name, keep_alpha)
    canvas = Image.new("RGBA" if keep_alpha else "RGB", (width, height))
    offset_x, offset_y = width // 2 - size[0] // 2, height // 2 - size[1] // 2
    canvas.paste(scaled, box=(offset_x, offset_y))
    if resize_mode != 1:
        _stretch_edges_into_bands(canvas, scaled, offset_x, offset_y, size, target_ratio, source_ratio)
    return canvas


def _scale_to(im: Image.Image, w: int, h: int, upscaler_name, plain: bool) -> Image.Image:
    """Lanczos, or the named upscaler first when enlarging (then Lanczos to the exact size)."""
    if plain or upscaler_name is None or upscaler_name == "None" or im.mode == "L":
        return im.resize((w, h), resample=LANCZOS)
    factor = max(w / im.width, h / im.height)
    if factor > 1.0:
        upscaler = _upscaler_named(upscaler_name)
        im = upscaler.scaler.upscale(im, factor, upscaler.data_path)
    if (im.width, im.height) != (w, h):
        im = im.resize((w, h), resample=LANCZOS)
    return im


def _upscaler_named(name):
    for candidate in shared.sd_upscalers:
        if candidate.name == name:
            return candidate
    fallback = shared.sd_upscalers[0]
    shown = name or "<empty string>"
    print(f"could not find upscaler named {shown}, using {fallback.name} as a fallback")
    return fallback


def _stretch_edges_into_bands(canvas, scaled, offset_x: int, offset_y: int, size, target_ratio, source_ratio) -> None:
    """"Resize and fill": the empty bands get the outermost row/column of the image, stretched."""
    width, height = canvas.size
    if target_ratio < source_ratio and offset_y > 0:  # bands above and below
        first_row = scaled.resize((width, offset_y), box=(0, 0, width, 0))
        last_row = scaled.resize((width, offset_y), box=(0, scaled.height, width, scaled.height))
        canvas.paste(first_row, box=(0, 0))
        canvas.paste(last_row, box=(0, offset_y + size[1]))
    elif target_ratio > source_ratio and offset_x > 0:  # bands left and right
        first_column = scaled.resize((offset_x, height), box=(0, 0, 0, height))
        last_column = scaled.resize((offset_x, height), box=(scaled.width, 0, scaled.width, height))
        canvas.paste(first_column, box=(0, 0))
        canvas.paste(last_column, box=(offset_x + size[0], 0))


invalid_filename_chars = '#<>:"/\\|?*\n\r\t'
invalid_filename_prefix = " "
invalid_filename_postfix = " ."
re_nonletters = re.compile(r"[\s" + string.punctuation + "]+")
re_pattern = re.compile(r"""
    (.*?)                 # literal text, then
    (?: \[ ([^\[\]]+) \]  # a [tag] (no brackets inside it)
      | $ )               # or the end of the pattern
""", re.VERBOSE)
re_pattern_arg = re.compile(r"(.*) < ([^>]*) > $  # tag<arg>: the last <...> holds an argument", re.VERBOSE)
max_filename_part_length = 128
NOTHING_AND_SKIP_PREVIOUS_TEXT = object()


def sanitize_filename_part(text: str | None, replace_spaces: bool = True) -> str | None:
    if text is None:
        return None
    if replace_spaces:
        text = text.replace(" ", "_")
    underscored = text.translate({ord(char): "_" for char in invalid_filename_chars})
    shortened = underscored.lstrip(invalid_filename_prefix)[:max_filename_part_length]
    return shortened.rstrip(invalid_filename_postfix)


class FilenameGenerator:
    """``[tag]`` substitution for file and directory names (L381-540), common tags only."""

    def __init__(self, p, seed, prompt, image, zip: bool = False, basename: str = "") -> None:
        self.p = p
        self.seed = seed
        self.prompt = prompt
        self.image = image
        self.zip = zip
        self.basename = basename

    def _hash(self, text: str, *args: str) -> str:
        length = int(args[0]) if args and args[0] != "" else 8
        return hashlib.sha256(text.encode()).hexdigest()[0:length]

    def _datetime(self, *args: str) -> str:
        fmt = args[0] if args and args[0] != "" else "%Y%m%d%H%M%S"
        try:
            text = datetime.datetime.now().strftime(fmt)
        except (ValueError, TypeError):
            text = datetime.datetime.now().strftime("%Y%m%d%H%M%S")
        return sanitize_filename_part(text, replace_spaces=False)

    def _prompt_words(self) -> str:
        words = [x for x in re_nonletters.split(self.prompt or "") if x] or ["empty"]
        kept = words[:opts.directories_max_prompt_words]
        return sanitize_filename_part(" ".join(kept), replace_spaces=False)

    def _replacement(self, tag: str, args: list[str]):
        p = self.p
        table = {
            "basename": lambda: self.basename or "img",
            "seed": lambda: self.seed if self.seed is not None else "",
            "seed_first": lambda: self.seed if p.batch_size == 1 else p.all_seeds[0],
            "seed_last": lambda: NOTHING_AND_SKIP_PREVIOUS_TEXT if p.batch_size == 1 else p.all_seeds[-1],
            "steps": lambda: p and p.steps,
            "cfg": lambda: p and p.cfg_scale,
            "width": lambda: self.image.width,
            "height": lambda: self.image.height,
            "sampler": lambda: p and sanitize_filename_part(p.sampler_name, replace_spaces=False),
            "model_hash": lambda: getattr(p, "sd_model_hash", shared.sd_model.sd_model_hash),
            "model_name": lambda: sanitize_filename_part(shared.sd_model.sd_checkpoint_info.name_for_extra, replace_spaces=False),
            "date": lambda: datetime.datetime.now().strftime("%Y-%m-%d"),
            "datetime": lambda: self._datetime(*args),
            "job_timestamp": lambda: getattr(p, "job_timestamp", shared.state.job_timestamp),
            "prompt_hash": lambda: self._hash(self.prompt, *args),
            "negative_prompt_hash": lambda: self._hash(p.negative_prompt, *args),
            "full_prompt_hash": lambda: self._hash(f"{p.prompt} {p.negative_prompt}", *args),
            "prompt": lambda: sanitize_filename_part(self.prompt),
            "prompt_no_styles": lambda: sanitize_filename_part(self.prompt, replace_spaces=False),
            "prompt_spaces": lambda: sanitize_filename_part(self.prompt, replace_spaces=False),
            "prompt_words": self._prompt_words,
            "batch_number": lambda: NOTHING_AND_SKIP_PREVIOUS_TEXT if p.batch_size == 1 or self.zip else p.batch_index + 1,
            "batch_size": lambda: p.batch_size,
            "generation_number": lambda: NOTHING_AND_SKIP_PREVIOUS_TEXT if (p.n_iter == 1 and p.batch_size == 1) or self.zip else p.iteration * p.batch_size + p.batch_index + 1,
            "clip_skip": lambda: opts.data["CLIP_stop_at_last_layers"],
            "denoising": lambda: p.denoising_strength if p and p.denoising_strength else NOTHING_AND_SKIP_PREVIOUS_TEXT,
            "user": lambda: p.user,
            "none": lambda: "",
            "image_hash": lambda: hashlib.sha256(self.image.tobytes()).hexdigest()[0:(int(args[0]) if args and args[0] else None)],
        }
        fun = table.get(tag.lower())
        return None if fun is None else fun()

    def apply(self, x: str) -> str:
        res = ""
        for m in re_pattern.finditer(x):
            text, pattern = m.groups()
            if pattern is None:
                res += text
                continue
            pattern_args: list[str] = []
            while (am := re_pattern_arg.match(pattern)) is not None:
                pattern, arg = am.groups()
                pattern_args.insert(0, arg)
            try:
                replacement = self._replacement(pattern, pattern_args)
            except Exception:
                replacement = None
            if replacement is NOTHING_AND_SKIP_PREVIOUS_TEXT:
                continue
            if replacement is not None:
                res += text + str(replacement)
                continue
            res += f"{text}[{pattern}]"
        return res


def get_next_sequence_number(path: str, basename: str) -> int:
    """1 + the highest leading number among files starting with ``basename-`` (L543-562)."""
    prefix = f"{basename}-" if basename != "" else ""
    highest = -1
    for name in os.listdir(path):
        if not name.startswith(prefix):
            continue
        leading = os.path.splitext(name[len(prefix):])[0].split("-")[0]
        try:
            highest = max(int(leading), highest)
        except ValueError:
            continue
    return highest + 1


_EXIF_EXTENSIONS = (".jpg", ".jpeg", ".webp")
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286


def save_image_with_geninfo(image: Image.Image, geninfo: str | None, filename: str, extension: str | None = None,
                            existing_pnginfo: dict | None = None, pnginfo_section_name: str = "parameters") -> None:
    """PNG: every pnginfo item as a text chunk; JPEG/WEBP: EXIF UserComment (L565-621)."""
    extension = os.path.splitext(filename)[1] if extension is None else extension
    pil_format = Image.registered_extensions()[extension]
    kind = extension.lower()
    if kind == ".png":
        text_items = existing_pnginfo or {}
        chunks = None
        if opts.enable_pnginfo:  # every item becomes a tEXt chunk; the infotext under pnginfo_section_name
            text_items[pnginfo_section_name] = geninfo
            chunks = PngImagePlugin.PngInfo()
            for key, value in text_items.items():
                chunks.add_text(key, str(value))
        image.save(filename, format=pil_format, pnginfo=chunks)
    elif kind in _EXIF_EXTENSIONS:
        image = image.convert("RGB") if image.mode == "RGBA" else image
        exif = None
        if opts.enable_pnginfo and geninfo is not None:
            exif = Image.Exif()
            exif.get_ifd(_EXIF_IFD)[_USER_COMMENT] = b"UNICODE\0" + geninfo.encode("utf-16-be")
        kwargs = {"exif": exif} if exif is not None else {}
        image.save(filename, format=pil_format, quality=opts.jpeg_quality, lossless=opts.webp_lossless, **kwargs)
    else:
        image.save(filename, format=pil_format)


def _too_big_for(extension: str, image: Image.Image) -> bool:
    """JPEG and WEBP have size limits; such images are saved as PNG instead."""
    longest = max(image.width, image.height)
    kind = extension.lower()
    return (kind in ("jpg", "jpeg") and longest > 65535) or (kind == "webp" and longest > 16383)


def _saves_to_subdirectory(grid: bool, no_prompt: bool):
    if grid:
        return opts.grid_save_to_dirs
    return opts.save_to_dirs and not no_prompt


def _name_decoration(namegen: FilenameGenerator, p, seed, short_filename: bool, suffix: str) -> str:
    """The part after the number: the filename pattern applied, plus ``suffix``."""
    pattern = None
    if short_filename or seed is None:
        pattern = ""
    elif _double().forge and hasattr(p, "override_settings"):
        pattern = p.override_settings.get("samples_filename_pattern")
    if pattern is None:
        pattern = opts.samples_filename_pattern or ("[seed]" if opts.save_to_dirs else "[seed]-[prompt_spaces]")
    return namegen.apply(pattern) + suffix


def _first_free_numbered_name(path: str, basename: str, decoration: str, extension: str) -> str | None:
    start = get_next_sequence_number(path, basename)
    candidate = None
    for number in range(start, start + 500):
        stem = f"{basename}-{number:04}" if basename != "" else f"{number:05}"
        candidate = os.path.join(path, f"{stem}{decoration}.{extension}")
        if not os.path.exists(candidate):
            break
    return candidate


def _target_filename(namegen, path, basename, seed, extension, short_filename, p, forced_filename, suffix):
    if forced_filename is not None:  # no pattern, no number: may replace an existing file
        return os.path.join(path, f"{forced_filename}.{extension}")
    decoration = _name_decoration(namegen, p, seed, short_filename, suffix)
    numbered = opts.save_images_add_number or decoration == ""
    if not numbered:
        return os.path.join(path, f"{decoration}.{extension}")
    separator = "-" if decoration != "" else ""
    return _first_free_numbered_name(path, basename, separator + decoration, extension)


def _downscaled_for_4chan(image: Image.Image) -> Image.Image:
    longest_allowed = opts.target_side_length
    if image.width / image.height > 1:  # landscape: the width becomes the limit
        size = round(longest_allowed), round(image.height * longest_allowed / image.width)
    else:
        size = round(image.width * longest_allowed / image.height), round(longest_allowed)
    return image.resize(size, LANCZOS)


def save_image(image: Image.Image, path: str, basename: str, seed=None, prompt=None, extension: str = "png", info=None,
               short_filename: bool = False, no_prompt: bool = False, grid: bool = False,
               pnginfo_section_name: str = "parameters", p=None, existing_info=None, forced_filename=None, suffix: str = "",
               save_to_dirs=None) -> tuple[str, str | None]:
    """Save an image the way the WebUI does; returns ``(fullfn, txt_fullfn)``."""
    names = FilenameGenerator(p, seed, prompt, image, basename=basename)
    if _too_big_for(extension, image):
        extension = "png"
    if save_to_dirs is None:
        save_to_dirs = _saves_to_subdirectory(grid, no_prompt)
    if save_to_dirs:
        subdirectory = names.apply(opts.directories_filename_pattern or "[prompt_words]")
        path = os.path.join(path, subdirectory.lstrip(" ").rstrip("\\ /"))
    os.makedirs(path, exist_ok=True)
    fullfn = _target_filename(names, path, basename, seed, extension, short_filename, p, forced_filename, suffix)

    params = script_callbacks.ImageSaveParams(image, p, fullfn, _text_items(existing_info, pnginfo_section_name, info))
    script_callbacks.before_image_saved_callback(params)  # may replace image, filename and pnginfo
    image, fullfn = params.image, params.filename
    info = params.pnginfo.get(pnginfo_section_name, None)

    def write_via_tmp(image_to_save: Image.Image, without_ext: str, ext: str) -> None:
        tmp = f"{without_ext}.tmp"
        save_image_with_geninfo(image_to_save, info, tmp, ext, existing_pnginfo=params.pnginfo,
                                pnginfo_section_name=pnginfo_section_name)
        destination = without_ext + ext
        if opts.save_images_replace_action != "Replace":  # "Add number suffix": never overwrite
            counter = 0
            while os.path.exists(destination):
                counter += 1
                destination = f"{without_ext}-{counter}{ext}"
        os.replace(tmp, destination)
        double = _double()
        if double is not None:
            double.counters.saved_files.append(destination)

    stem, ext = os.path.splitext(params.filename)
    if hasattr(os, "statvfs"):  # the whole path is cut to the file system's name limit, as in the WebUI
        stem = stem[:os.statvfs(path).f_namemax - max(4, len(ext))]
        fullfn = params.filename = stem + ext
    write_via_tmp(image, stem, ext)
    image.already_saved_as = fullfn

    if opts.export_for_4chan:
        limit = opts.target_side_length
        oversize = image.width > limit or image.height > limit
        if oversize or os.stat(fullfn).st_size > opts.img_downscale_threshold * 1024 * 1024:
            write_via_tmp(_downscaled_for_4chan(image) if oversize else image, stem, ".jpg")

    txt_fullfn = _write_txt(stem, info) if opts.save_txt and info is not None else None
    script_callbacks.image_saved_callback(params)
    return fullfn, txt_fullfn


def _text_items(existing_info: dict | None, section: str, info) -> dict:
    """The PNG text items: ``existing_info`` (updated in place when given) plus the infotext."""
    items = existing_info or {}
    if info is not None:
        items[section] = info
    return items


def _write_txt(stem: str, info) -> str:
    """``save_txt``: the infotext next to the image, as ``<name>.txt``."""
    path = f"{stem}.txt"
    with open(path, "w", encoding="utf8") as text_file:
        text_file.write(f"{info}\n")
    return path


IGNORED_INFO_KEYS = {
    "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "exif", "loop", "background", "timestamp",
    "duration", "progressive", "progression", "icc_profile", "chromaticity", "photoshop",
}


def read_info_from_image(image: Image.Image) -> tuple[str | None, dict]:
    """``(geninfo, other items)``: PNG ``parameters`` chunk, else EXIF UserComment (L777-817)."""
    items = (image.info or {}).copy()
    geninfo = items.pop("parameters", None)
    if "exif" in items:
        comment = image.getexif().get_ifd(_EXIF_IFD).get(_USER_COMMENT, b"")
        if isinstance(comment, bytes):
            if comment.startswith(b"UNICODE\0"):
                comment = comment[8:].decode("utf-16-be", errors="ignore")
            else:
                comment = comment.decode("utf8", errors="ignore")
        if comment:
            geninfo = comment
    elif "comment" in items:
        geninfo = items["comment"].decode("utf8", errors="ignore") if isinstance(items["comment"], bytes) else items["comment"]
    for field in IGNORED_INFO_KEYS:
        items.pop(field, None)
    return geninfo, items


def flatten(img: Image.Image, bgcolor: str) -> Image.Image:
    """Composite RGBA over ``bgcolor`` and return RGB (L841-849)."""
    if img.mode != "RGBA":
        return img.convert("RGB")
    backdrop = Image.new("RGBA", img.size, bgcolor)
    return Image.composite(img, backdrop, img).convert("RGB")  # the alpha band is the paste mask


def fix_image(image: Image.Image | None) -> Image.Image | None:
    if image is None:
        return None
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGB", "P") and isinstance(image.info.get("transparency"), bytes):
            image = image.convert("RGBA")
    except Exception:
        pass
    return image


def read(fp, **kwargs) -> Image.Image:
    return fix_image(Image.open(fp, **kwargs))
