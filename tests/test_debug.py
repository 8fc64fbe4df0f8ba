"""Debug drawings and the never-overwriting PNG writer."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from lib_facepop import debug
from lib_facepop.face import Face


def _face(roll: float = 30.0) -> Face:
    return Face(
        box=(40.0, 30.0, 100.0, 95.0),
        score=0.93,
        keypoints={"right_eye": (55.0, 50.0), "left_eye": (85.0, 50.0), "nose_tip": (70.0, 65.0),
                   "mouth_center": (70.0, 80.0), "right_ear": (42.0, 55.0), "left_ear": (98.0, 55.0)},
        roll=roll,
        size=(60.0, 65.0),
    )


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


def test_draw_detections_draws_box_arrow_and_keypoints():
    image = np.full((120, 160, 3), 30, np.uint8)
    before = image.copy()
    out = debug.draw_detections(image, [_face(0.0)])
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before), "inputs are not modified"
    ch = _changed(out, image)
    assert ch[30, 60] and ch[95, 60]  # top and bottom edge of the box
    assert tuple(out[50, 55]) == debug.KEYPOINT_COLORS["right_eye"]
    assert tuple(out[65, 70]) == debug.KEYPOINT_COLORS["nose_tip"]
    assert not ch[115, 155]  # far corner untouched
    # roll 0: the arrow points straight up from the centre (70, 62.5)
    assert ch[40, 70] and not ch[72, 70]
    # roll 90 (head to the left): the arrow now points left
    out90 = debug.draw_detections(image, [_face(90.0)])
    ch90 = _changed(out90, image)
    assert ch90[62, 52] and not ch90[40, 70]


def test_draw_detections_accepts_grayscale_and_no_faces():
    gray = np.zeros((50, 60), np.uint8)
    out = debug.draw_detections(gray, [])
    assert out.shape == (50, 60, 3) and not out.any()


def test_draw_landmarks_marks_current_and_original_positions():
    canvas = np.zeros((64, 64, 3), np.uint8)
    pts = np.array([[10.0, 10.0], [50.0, 20.0]])
    orig = np.array([[20.0, 40.0], [40.0, 50.0]])
    out = debug.draw_landmarks(canvas, pts)
    assert out.shape == (64, 64, 3)
    assert tuple(out[10, 10]) == debug.LANDMARK_COLOR and not out[40, 20].any()
    both = debug.draw_landmarks(canvas, pts, orig)
    assert tuple(both[10, 10]) == debug.LANDMARK_COLOR
    assert tuple(both[40, 20]) == debug.ORIGINAL_COLOR
    with pytest.raises(ValueError):
        debug.draw_landmarks(canvas, pts, orig[:1])


def test_draw_orientation_side_by_side_with_labels():
    before = np.zeros((100, 80, 3), np.uint8)
    after = np.zeros((200, 200, 3), np.uint8)
    out = debug.draw_orientation(before, after, 33.0)
    assert out.shape[0] == 200
    assert out.shape[1] == 160 + 200 + max(2, 200 // 64)
    assert out[:40, :160].any() and out[:40, -200:].any()  # labels on both halves
    assert not out[150:, 10:150].any()


def test_mask_view_and_overlay():
    alpha = np.zeros((30, 40), np.float32)
    alpha[10:20, 10:30] = 1.0
    mv = debug.mask_view(alpha)
    assert mv.shape == (30, 40, 3) and mv[15, 15].tolist() == [255, 255, 255] and not mv[0, 0].any()
    assert np.array_equal(debug.mask_view((alpha * 255).astype(np.uint8)), mv)

    image = np.full((30, 40, 3), 100, np.uint8)
    protect = (alpha * 255).astype(np.uint8)
    ov = debug.overlay(image, protect)
    assert ov.shape == image.shape
    assert np.array_equal(ov[0, 0], image[0, 0]) and np.array_equal(ov[25, 35], image[25, 35])
    assert not np.array_equal(ov[15, 20], image[15, 20])
    assert ov[15, 20, 0] > 100 and ov[15, 20, 1] < 100  # tinted towards magenta


def test_contact_sheet_dimensions():
    tiles = [
        ("a", np.zeros((100, 100, 3), np.uint8)),
        ("b", np.zeros((50, 200), np.uint8)),  # grayscale, 4:1
        ("c", np.zeros((300, 150, 4), np.uint8)),  # RGBA, 1:2
    ]
    sheet = debug.contact_sheet(tiles, columns=2, tile_height=64, margin=8, title_height=20)
    # columns: max(64, 64 -> tile c: 32) = 64 and 256
    assert sheet.shape == (8 + 2 * (20 + 64 + 8), 8 + (64 + 8) + (256 + 8), 3)
    assert sheet.dtype == np.uint8
    assert not np.array_equal(sheet[8:28, 8:72], np.full((20, 64, 3), 40, np.uint8)), "title drawn"
    one = debug.contact_sheet(tiles, columns=5, tile_height=32)
    assert one.shape[0] == 8 + 22 + 32 + 8
    assert debug.contact_sheet([], columns=3).ndim == 3


def test_writer_never_overwrites_and_writes_real_pngs(tmp_path):
    fixed = datetime(2026, 11, 21, 23, 30, 12, 123456)
    target = tmp_path / "Debugging" / "sub"
    writer = debug.DebugWriter(target, clock=lambda: fixed)
    assert not target.exists(), "the directory is created lazily"

    target.mkdir(parents=True)
    colliding = target / "20261121-233012-123456_photo_mask.png"
    colliding.write_bytes(b"not mine")

    img1 = np.full((20, 30, 3), 10, np.uint8)
    img2 = np.full((20, 30), 200, np.uint8)
    p1 = writer.write(img1, "photo", "mask")
    p2 = writer.write(img2, "photo", "mask")
    assert colliding.read_bytes() == b"not mine"
    assert len({colliding, p1, p2}) == 3
    assert p1.name == "20261121-233012-123456_photo_mask_1.png"
    assert p2.name == "20261121-233012-123456_photo_mask_2.png"
    with Image.open(p1) as im:
        assert im.format == "PNG" and im.size == (30, 20) and im.mode == "RGB"
        assert np.array_equal(np.asarray(im), img1)
    with Image.open(p2) as im:
        assert np.asarray(im)[0, 0].tolist() == [200, 200, 200]

    paths = writer.write_all([("sheet", img1), ("overlay/x y", img1)], stem="my photo.png")
    assert [p.name for p in paths] == [
        "20261121-233012-123456_my_photo.png_sheet.png",
        "20261121-233012-123456_my_photo.png_overlay_x_y.png",
    ]
    assert all(p.parent == target for p in paths)
    assert len(list(target.iterdir())) == 5
