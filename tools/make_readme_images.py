"""Makes the README's pictures with the CLI's own pipeline (preview renderer, bundled sample).

    python tools/make_readme_images.py   # writes docs/contact_sheet.jpg and docs/before_after.jpg
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib_facepop.debug import DebugWriter, write_debug  # noqa: E402
from lib_facepop.imageio import load_image  # noqa: E402
from lib_facepop.matting import Matter  # noqa: E402
from lib_facepop.pipeline import FacePipeline  # noqa: E402
from lib_facepop.render import PreviewRenderer  # noqa: E402
from lib_facepop.settings import FaceSettings  # noqa: E402

SAMPLE = ROOT / "lib_facepop" / "assets" / "sample.jpg"


def main() -> int:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    img = load_image(SAMPLE)
    settings = FaceSettings(enabled=True, matting="selfie", enhancement="Hybrid")
    res = FacePipeline(matter=Matter(allow_download=False)).run(img.rgb, settings, PreviewRenderer("Hybrid"))
    with tempfile.TemporaryDirectory() as tmp:
        sheet = write_debug(DebugWriter(tmp), "sample", img, res)
        s = Image.open(sheet).convert("RGB")
        s.thumbnail((1400, 1400), Image.LANCZOS)
        s.save(docs / "contact_sheet.jpg", quality=82)
    # before | after, with the faces' boxes zoomed underneath
    before, after = Image.fromarray(img.rgb), Image.fromarray(res.image)
    w, h = before.size
    pair = Image.new("RGB", (w * 2 + 16, h + 30), (32, 32, 32))
    pair.paste(before, (0, 30))
    pair.paste(after, (w + 16, 30))
    d = ImageDraw.Draw(pair)
    d.text((8, 8), "before", fill=(255, 255, 255))
    d.text((w + 24, 8), "after: 4 faces refined upright by the preview renderer, blended back", fill=(255, 255, 255))
    zooms = []
    for rec in res.faces:
        x0, y0, x1, y1 = (int(v) for v in rec.face.box)
        pad = int(0.3 * (x1 - x0))
        box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
        zooms.append(np.hstack([np.asarray(before.crop(box).resize((180, 180))),
                                np.asarray(after.crop(box).resize((180, 180)))]))
    strip = Image.fromarray(np.hstack([np.pad(z, ((0, 0), (0, 12), (0, 0))) for z in zooms]))
    out = Image.new("RGB", (max(pair.width, strip.width), pair.height + strip.height + 10), (32, 32, 32))
    out.paste(pair, (0, 0))
    out.paste(strip, (0, pair.height + 10))
    out.thumbnail((1600, 1600), Image.LANCZOS)
    out.save(docs / "before_after.jpg", quality=85)
    print("wrote docs/contact_sheet.jpg and docs/before_after.jpg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
