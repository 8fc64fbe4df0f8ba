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


def image_grid(imgs: list, batch_size: int = 1, rows: int | None = None) -> Image.Image:
    """Paste images into a grid; rows from ``opts.n_rows`` (L36-66)."""
    if rows is None:
        if opts.n_rows > 0:
            rows = opts.n_rows
        elif opts.n_rows == 0:
            rows = batch_size
        elif opts.grid_prevent_empty_spots:
            rows = math.floor(math.sqrt(len(imgs)))
            while len(imgs) % rows != 0:
                rows -= 1
        else:
            rows = round(math.sqrt(len(imgs)))
    rows = min(rows, len(imgs))
    cols = math.ceil(len(imgs) / rows)
    params = script_callbacks.ImageGridLoopParams(imgs, cols, rows)
    script_callbacks.image_grid_callback(params)
    w = max(img.width for img in imgs)
    h = max(img.height for img in imgs)
    grid = Image.new("RGB", (params.cols * w, params.rows * h), ImageColor.getcolor(opts.grid_background_color, "RGB"))
    for i, img in enumerate(params.imgs):
        dx = 0 if img.width == w else (w - img.width) // 2
        dy = 0 if img.height == h else (h - img.height) // 2
        grid.paste(img, box=(i % params.cols * w + dx, i // params.cols * h + dy))
    return grid


class Grid(namedtuple("_Grid", ["tiles", "tile_w", "tile_h", "image_w", "image_h", "overlap"])):
    @property
    def tile_count(self) -> int:
        return sum(len(row[2]) for row in self.tiles)


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
    ov = grid.overlap
    out = Image.new("RGB", (grid.image_w, grid.image_h))
    for y, h, row in grid.tiles:
        strip = Image.new("RGB", (grid.image_w, h))
        for x, w, tile in row:
            if x == 0 or ov == 0:
                strip.paste(tile, (x, 0))
                continue
            strip.paste(tile.crop((0, 0, ov, h)), (x, 0), mask=_ramp(ov, h, horizontal=True))
            strip.paste(tile.crop((ov, 0, w, h)), (x + ov, 0))
        if y == 0 or ov == 0:
            out.paste(strip, (0, y))
            continue
        out.paste(strip.crop((0, 0, strip.width, ov)), (0, y), mask=_ramp(ov, grid.image_w, horizontal=False))
        out.paste(strip.crop((0, ov, strip.width, h)), (0, y + ov))
    return out


def resize_image(resize_mode: int, im: Image.Image, width: int, height: int, upscaler_name: str | None = None,
                 force_RGBA: bool = False) -> Image.Image:  # noqa: N803 - Forge's name
    """0 = just resize, 1 = crop and resize, 2 = resize and fill (L252-326). ``force_RGBA`` is Forge's."""
    forge = _double().forge
    if forge and not force_RGBA and im.mode == "RGBA":
        im = im.convert("RGB")
    upscaler_name = upscaler_name or opts.upscaler_for_img2img

    def resize(im: Image.Image, w: int, h: int) -> Image.Image:
        if upscaler_name is None or upscaler_name == "None" or im.mode == "L" or (forge and force_RGBA):
            return im.resize((w, h), resample=LANCZOS)
        scale = max(w / im.width, h / im.height)
        if scale > 1.0:
            found = [x for x in shared.sd_upscalers if x.name == upscaler_name]
            if not found:
                upscaler = shared.sd_upscalers[0]
                print(f"could not find upscaler named {upscaler_name or '<empty string>'}, using {upscaler.name} as a fallback")
            else:
                upscaler = found[0]
            im = upscaler.scaler.upscale(im, scale, upscaler.data_path)
        if im.width != w or im.height != h:
            im = im.resize((w, h), resample=LANCZOS)
        return im

    if resize_mode == 0:
        return resize(im, width, height)
    mode = "RGBA" if (forge and force_RGBA) else "RGB"
    ratio = width / height
    src_ratio = im.width / im.height
    if resize_mode == 1:
        src_w = width if ratio > src_ratio else im.width * height // im.height
        src_h = height if ratio <= src_ratio else im.height * width // im.width
        resized = resize(im, src_w, src_h)
        res = Image.new(mode, (width, height))
        res.paste(resized, box=(width // 2 - src_w // 2, height // 2 - src_h // 2))
        return res
    src_w = width if ratio < src_ratio else im.width * height // im.height
    src_h = height if ratio >= src_ratio else im.height * width // im.width
    resized = resize(im, src_w, src_h)
    res = Image.new(mode, (width, height))
    res.paste(resized, box=(width // 2 - src_w // 2, height // 2 - src_h // 2))
    if ratio < src_ratio:
        fill = height // 2 - src_h // 2
        if fill > 0:
            res.paste(resized.resize((width, fill), box=(0, 0, width, 0)), box=(0, 0))
            res.paste(resized.resize((width, fill), box=(0, resized.height, width, resized.height)), box=(0, fill + src_h))
    elif ratio > src_ratio:
        fill = width // 2 - src_w // 2
        if fill > 0:
            res.paste(resized.resize((fill, height), box=(0, 0, 0, height)), box=(0, 0))
            res.paste(resized.resize((fill, height), box=(resized.width, 0, resized.width, height)), box=(fill + src_w, 0))
    return res


invalid_filename_chars = '#<>:"/\\|?*\n\r\t'
invalid_filename_prefix = " "
invalid_filename_postfix = " ."
re_nonletters = re.compile(r"[\s" + string.punctuation + "]+")
re_pattern = re.compile(r"(.*?)(?:\[([^\[\]]+)\]|$)")
re_pattern_arg = re.compile(r"(.*)<([^>]*)>$")
max_filename_part_length = 128
NOTHING_AND_SKIP_PREVIOUS_TEXT = object()


def sanitize_filename_part(text: str | None, replace_spaces: bool = True) -> str | None:
    if text is None:
        return None
    if replace_spaces:
        text = text.replace(" ", "_")
    text = text.translate({ord(x): "_" for x in invalid_filename_chars})
    text = text.lstrip(invalid_filename_prefix)[:max_filename_part_length]
    return text.rstrip(invalid_filename_postfix)


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
        return sanitize_filename_part(" ".join(words[0:opts.directories_max_prompt_words]), replace_spaces=False)

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
    result = -1
    if basename != "":
        basename = f"{basename}-"
    prefix_length = len(basename)
    for p in os.listdir(path):
        if p.startswith(basename):
            parts = os.path.splitext(p[prefix_length:])[0].split("-")
            try:
                result = max(int(parts[0]), result)
            except ValueError:
                pass
    return result + 1


_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286


def save_image_with_geninfo(image: Image.Image, geninfo: str | None, filename: str, extension: str | None = None,
                            existing_pnginfo: dict | None = None, pnginfo_section_name: str = "parameters") -> None:
    """PNG: every pnginfo item as a text chunk; JPEG/WEBP: EXIF UserComment (L565-621)."""
    if extension is None:
        extension = os.path.splitext(filename)[1]
    image_format = Image.registered_extensions()[extension]
    if extension.lower() == ".png":
        existing_pnginfo = existing_pnginfo or {}
        pnginfo_data = None
        if opts.enable_pnginfo:
            existing_pnginfo[pnginfo_section_name] = geninfo
            pnginfo_data = PngImagePlugin.PngInfo()
            for k, v in existing_pnginfo.items():
                pnginfo_data.add_text(k, str(v))
        image.save(filename, format=image_format, pnginfo=pnginfo_data)
    elif extension.lower() in (".jpg", ".jpeg", ".webp"):
        if image.mode == "RGBA":
            image = image.convert("RGB")
        exif = None
        if opts.enable_pnginfo and geninfo is not None:
            exif = Image.Exif()
            exif.get_ifd(_EXIF_IFD)[_USER_COMMENT] = b"UNICODE\0" + geninfo.encode("utf-16-be")
        kwargs = {"exif": exif} if exif is not None else {}
        image.save(filename, format=image_format, quality=opts.jpeg_quality, lossless=opts.webp_lossless, **kwargs)
    else:
        image.save(filename, format=image_format)


def save_image(image: Image.Image, path: str, basename: str, seed=None, prompt=None, extension: str = "png", info=None,
               short_filename: bool = False, no_prompt: bool = False, grid: bool = False,
               pnginfo_section_name: str = "parameters", p=None, existing_info=None, forced_filename=None, suffix: str = "",
               save_to_dirs=None) -> tuple[str, str | None]:
    """Save an image the way the WebUI does; returns ``(fullfn, txt_fullfn)``."""
    namegen = FilenameGenerator(p, seed, prompt, image, basename=basename)
    if ((image.height > 65535 or image.width > 65535) and extension.lower() in ("jpg", "jpeg")) or \
            ((image.height > 16383 or image.width > 16383) and extension.lower() == "webp"):
        extension = "png"
    if save_to_dirs is None:
        save_to_dirs = (grid and opts.grid_save_to_dirs) or (not grid and opts.save_to_dirs and not no_prompt)
    if save_to_dirs:
        dirname = namegen.apply(opts.directories_filename_pattern or "[prompt_words]").lstrip(" ").rstrip("\\ /")
        path = os.path.join(path, dirname)
    os.makedirs(path, exist_ok=True)

    if forced_filename is None:
        decoration = None
        if short_filename or seed is None:
            decoration = ""
        elif _double().forge and hasattr(p, "override_settings"):
            decoration = p.override_settings.get("samples_filename_pattern")
        if decoration is None:
            decoration = opts.samples_filename_pattern or ("[seed]" if opts.save_to_dirs else "[seed]-[prompt_spaces]")
        decoration = namegen.apply(decoration) + suffix
        add_number = opts.save_images_add_number or decoration == ""
        if decoration != "" and add_number:
            decoration = f"-{decoration}"
        if add_number:
            basecount = get_next_sequence_number(path, basename)
            fullfn = None
            for i in range(500):
                fn = f"{basecount + i:05}" if basename == "" else f"{basename}-{basecount + i:04}"
                fullfn = os.path.join(path, f"{fn}{decoration}.{extension}")
                if not os.path.exists(fullfn):
                    break
        else:
            fullfn = os.path.join(path, f"{decoration}.{extension}")
    else:
        fullfn = os.path.join(path, f"{forced_filename}.{extension}")

    pnginfo = existing_info or {}
    if info is not None:
        pnginfo[pnginfo_section_name] = info
    params = script_callbacks.ImageSaveParams(image, p, fullfn, pnginfo)
    script_callbacks.before_image_saved_callback(params)
    image = params.image
    fullfn = params.filename
    info = params.pnginfo.get(pnginfo_section_name, None)

    def atomically_save(image_to_save: Image.Image, without_ext: str, ext: str) -> None:
        tmp = f"{without_ext}.tmp"
        save_image_with_geninfo(image_to_save, info, tmp, ext, existing_pnginfo=params.pnginfo,
                                pnginfo_section_name=pnginfo_section_name)
        filename = without_ext + ext
        if opts.save_images_replace_action != "Replace":
            n = 0
            while os.path.exists(filename):
                n += 1
                filename = f"{without_ext}-{n}{ext}"
        os.replace(tmp, filename)
        double = _double()
        if double is not None:
            double.counters.saved_files.append(filename)

    without_ext, ext = os.path.splitext(params.filename)
    if hasattr(os, "statvfs"):
        max_name_len = os.statvfs(path).f_namemax
        without_ext = without_ext[:max_name_len - max(4, len(ext))]
        params.filename = without_ext + ext
        fullfn = params.filename
    atomically_save(image, without_ext, ext)
    image.already_saved_as = fullfn

    oversize = image.width > opts.target_side_length or image.height > opts.target_side_length
    if opts.export_for_4chan and (oversize or os.stat(fullfn).st_size > opts.img_downscale_threshold * 1024 * 1024):
        small = image
        if oversize:
            ratio = image.width / image.height
            if ratio > 1:
                size = round(opts.target_side_length), round(image.height * opts.target_side_length / image.width)
            else:
                size = round(image.width * opts.target_side_length / image.height), round(opts.target_side_length)
            small = image.resize(size, LANCZOS)
        atomically_save(small, without_ext, ".jpg")

    txt_fullfn = None
    if opts.save_txt and info is not None:
        txt_fullfn = f"{without_ext}.txt"
        with open(txt_fullfn, "w", encoding="utf8") as file:
            file.write(f"{info}\n")
    script_callbacks.image_saved_callback(params)
    return fullfn, txt_fullfn


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
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, bgcolor)
        background.paste(img, mask=img)
        img = background
    return img.convert("RGB")


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
