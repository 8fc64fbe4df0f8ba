"""Detection with the real bundled mediapipe models on real photos (astronaut, Grace Hopper)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.scenes import backgrounds, paste_face
from lib_facepop.align import align_face, normalize_roll, warp_to_canvas
from lib_facepop.detect import DetectParams, Models, detect_faces, merge_candidates, pyramid_tiles
from lib_facepop.settings import FaceSettings


@pytest.fixture(scope="module")
def bg():
    return backgrounds((640, 480))


def _scene(bg, sources, placements, background="gradient"):
    img = bg[background].copy()
    truths = [paste_face(img, sources[src], center, width, roll) for src, center, width, roll in placements]
    return img, truths


def _match(face, truth) -> bool:
    return math.hypot(face.center[0] - truth.center[0], face.center[1] - truth.center[1]) < 0.4 * truth.width


@pytest.mark.parametrize("roll", [0.0, 37.0, 90.0, 135.0, 180.0, 250.0, -60.0])
def test_astronaut_at_any_roll_is_found_once_with_exact_roll(bg, sources, models, roll):
    img, (truth,) = _scene(bg, sources, [(0, (320, 240), 90, roll)])
    faces = detect_faces(img, models, DetectParams(aggressive=True))
    assert len(faces) == 1
    f = faces[0]
    assert _match(f, truth)
    assert abs(normalize_roll(f.roll - truth.roll)) < 3.0
    assert 0.6 < f.size[0] / truth.width < 1.6
    # the box is axis-aligned around the face and the keypoints sit inside it
    x0, y0, x1, y1 = f.box
    assert x0 < truth.center[0] < x1 and y0 < truth.center[1] < y1
    for x, y in f.keypoints.values():
        assert x0 - 5 < x < x1 + 5 and y0 - 5 < y < y1 + 5


@pytest.mark.parametrize("width", [24, 40, 160, 300])
def test_small_and_large_faces(bg, sources, models, width):
    img, (truth,) = _scene(bg, sources, [(2, (320, 240), width, 200.0)], background="brick")
    faces = detect_faces(img, models, DetectParams(aggressive=True))
    assert len(faces) == 1 and _match(faces[0], truth)


def test_plain_mode_misses_small_faces_that_aggressive_finds(bg, sources, models):
    img, truths = _scene(bg, sources, [(0, (150, 150), 30, 0.0), (3, (420, 260), 260, 0.0)])
    plain = detect_faces(img, models, DetectParams(aggressive=False))
    aggressive = detect_faces(img, models, DetectParams(aggressive=True))
    assert len(aggressive) == 2
    assert any(_match(f, truths[1]) for f in plain)
    assert not any(_match(f, truths[0]) for f in plain)


def test_several_faces_no_duplicates_and_ordering(bg, sources, models):
    placements = [(0, (100, 100), 40, 10.0), (1, (320, 300), 120, -90.0), (3, (540, 120), 70, 180.0)]
    img, truths = _scene(bg, sources, placements, background="noise")
    faces = detect_faces(img, models, DetectParams(aggressive=True, sort_order="largest"))
    assert len(faces) == 3
    assert all(any(_match(f, t) for f in faces) for t in truths)
    widths = [f.size[0] for f in faces]
    assert widths == sorted(widths, reverse=True)
    ltr = detect_faces(img, models, DetectParams(aggressive=True, sort_order="left_to_right"))
    assert [round(f.center[0]) for f in ltr] == sorted(round(f.center[0]) for f in ltr)
    # max faces keeps the first ones of the chosen order
    two = detect_faces(img, models, DetectParams(aggressive=True, max_faces=2))
    assert [f.box for f in two] == [f.box for f in faces[:2]]
    # min face size filters by width in pixels
    big = detect_faces(img, models, DetectParams(aggressive=True, min_face_size=60))
    assert len(big) == 2 and all(f.size[0] >= 60 for f in big)


def test_confidence_threshold_really_filters(bg, sources, models):
    img, _ = _scene(bg, sources, [(0, (320, 240), 90, 0.0)])
    faces = detect_faces(img, models, DetectParams(confidence=0.5))
    assert len(faces) == 1
    score = faces[0].score
    assert detect_faces(img, models, DetectParams(confidence=min(1.0, score + 0.01))) == []
    assert len(detect_faces(img, models, DetectParams(confidence=max(0.1, score - 0.05)))) == 1


def test_mask_restricts_detection(bg, sources, models):
    img, truths = _scene(bg, sources, [(0, (160, 240), 80, 0.0), (2, (480, 240), 80, 0.0)])
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[:, 320:] = 255
    faces = detect_faces(img, models, DetectParams(), mask=mask)
    assert len(faces) == 1 and _match(faces[0], truths[1])


def test_face_free_images_give_nothing(bg, models):
    for name in ("chelsea", "coffee", "gravel"):
        assert detect_faces(bg[name], models, DetectParams(aggressive=True)) == []


def test_grayscale_and_rgba_inputs(bg, sources, models):
    img, (truth,) = _scene(bg, sources, [(0, (320, 240), 100, 30.0)])
    gray = img.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    for variant in (gray, rgba):
        faces = detect_faces(variant, models, DetectParams())
        assert len(faces) == 1 and _match(faces[0], truth)


def test_models_load_once_and_are_reused(models):
    g = models.short
    assert models.short is g and models.mesh is models.mesh
    fresh = Models()
    assert all(lane._short is None and lane._mesh is None for lane in fresh.lanes)  # lazy: nothing loaded yet
    fresh.close()


def test_parallel_lanes_give_the_same_faces_as_one(bg, sources, models):
    """Two worker lanes (both cores) find exactly what one lane finds, in the same order."""
    placements = [(0, (100, 100), 30, 200.0), (1, (320, 300), 120, -90.0), (3, (540, 120), 60, 45.0)]
    img, _ = _scene(bg, sources, placements, background="grass")
    one, two = Models(workers=1), Models(workers=2)
    try:
        a = detect_faces(img, one, DetectParams(aggressive=True))
        b = detect_faces(img, two, DetectParams(aggressive=True))
        assert len(a) == 3
        assert [(f.box, f.roll, f.score) for f in a] == [(f.box, f.roll, f.score) for f in b]
        assert two.lanes[1]._short is not None  # the second lane really worked
    finally:
        one.close()
        two.close()


def test_upright_crop_of_upside_down_face(bg, sources, models):
    """Align turns a face upright: on the canvas, the eyes are level and above the mouth."""
    img, _ = _scene(bg, sources, [(1, (320, 240), 110, 180.0)])
    (face,) = detect_faces(img, models, DetectParams())
    s = FaceSettings()
    al = align_face(face, s)
    assert max(al.canvas_size) == 720 and min(al.canvas_size) >= 600
    kp = al.to_canvas(np.array([face.keypoints["right_eye"], face.keypoints["left_eye"], face.keypoints["mouth_center"]]))
    assert kp[0][0] < kp[1][0]  # subject's right eye on the canvas left
    assert abs(kp[0][1] - kp[1][1]) < 0.05 * 720
    assert kp[2][1] > kp[0][1] + 40
    canvas = warp_to_canvas(img, al)
    assert canvas.shape == (al.canvas_size[1], al.canvas_size[0], 3)


def test_pyramid_covers_every_face_size():
    """For faces 24 px and up, some tile level holds the face at 15-40% of the tile."""
    tiles = list(pyramid_tiles(1024, 768, 24.0))
    tile_sides = sorted({128 / s for s, _, _ in tiles})
    for width in range(24, 160, 4):
        assert any(0.15 <= width / t <= 0.4 for t in tile_sides) or width / 1024 >= 0.15


def test_merge_keeps_one_of_overlapping_boxes():
    from lib_facepop.detect import Candidate

    kp = np.zeros((6, 2))
    a = Candidate((10, 10, 50, 50), 0.9, kp, False)
    b = Candidate((12, 11, 52, 49), 0.95, kp, True)  # higher score but cut by a tile edge
    c = Candidate((100, 100, 140, 140), 0.7, kp, False)
    merged = merge_candidates([a, b, c])
    assert a in merged and c in merged and b not in merged
