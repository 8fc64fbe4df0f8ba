"""Matting: a real onnxruntime session on a MODNet-signature model, the bundled fallbacks,
mask post-processing, and the Matter's fallback chain."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import data

from lib_facepop.matting import (
    CPU,
    CUDA,
    Matter,
    ModnetSession,
    SelfieSegmenter,
    choose_providers,
    face_oval_mask,
    face_oval_ring,
    modnet_input_size,
    postprocess_mask,
    ring_from_edges,
)
from tests.modnet_double import build_modnet_like, expected_alpha


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    return build_modnet_like(tmp_path_factory.mktemp("onnx") / "modnet_like.onnx")


@pytest.fixture(scope="module")
def session(onnx_path):
    return ModnetSession(onnx_path)


@pytest.fixture(scope="module")
def face_crop():
    """The astronaut's face with some background: 200x200 RGB uint8."""
    return np.ascontiguousarray(data.astronaut()[20:220, 130:330])


@pytest.fixture(scope="module")
def mesh_points(face_crop):
    """Real face-mesh landmarks (468 x 2, crop pixels) of ``face_crop``."""
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        lm = fm.process(face_crop).multi_face_landmarks[0].landmark
    h, w = face_crop.shape[:2]
    return np.array([(p.x * w, p.y * h) for p in lm])


# ---- MODNet session -------------------------------------------------------------

def test_input_size_follows_modnet_reference():
    assert modnet_input_size(720, 720) == (512, 512)
    assert modnet_input_size(720, 360) == (704, 352)  # one side in range: kept, floored to /32
    assert modnet_input_size(1440, 720) == (1024, 512)  # both above: short side to 512
    assert modnet_input_size(600, 500) == (600 - 600 % 32, 500 - 500 % 32)  # in range: kept, floored to /32
    assert modnet_input_size(100, 100) == (512, 512)
    assert modnet_input_size(720, 720, ref_size=256) == (256, 256)


@settings(max_examples=200, deadline=None)
@given(st.integers(8, 4096), st.integers(8, 4096), st.sampled_from([256, 320, 512]))
def test_input_size_is_a_multiple_of_32_with_the_aspect_kept(w, h, ref):
    rw, rh = modnet_input_size(w, h, ref)
    assert rw % 32 == 0 and rh % 32 == 0 and rw >= 32 and rh >= 32
    if min(rw, rh) >= 128:  # flooring to /32 bends the aspect by less than 32 px per side
        assert abs(rw / rh - w / h) <= (w / h) * (32 / min(rw, rh)) * 2


def test_the_double_only_takes_sides_that_are_multiples_of_32(onnx_path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    raw = ort.InferenceSession(str(onnx_path), opts, providers=[CPU])
    assert raw.run(None, {"input": np.zeros((1, 3, 64, 96), np.float32)})[0].shape == (1, 1, 64, 96)
    with pytest.raises(Exception, match="Add"):
        raw.run(None, {"input": np.zeros((1, 3, 70, 96), np.float32)})


def test_normalisation_and_channel_order(session):
    rng = np.random.default_rng(3)
    canvas = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)  # already MODNet's size: no resize
    (alpha,) = session.predict([canvas])
    assert alpha.shape == (512, 512) and alpha.dtype == np.float32
    np.testing.assert_allclose(alpha, expected_alpha(canvas), atol=1e-5)
    # a BGR/RGB swap would turn red into blue: 0.98 vs 0.0003
    red, blue = np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    blue[..., 2] = 255
    a_red, a_blue = session.predict([red, blue])
    assert a_red.min() > 0.95 and a_blue.max() < 0.01


@pytest.mark.parametrize("size", [(720, 700), (600, 400), (333, 517), (96, 64)])
def test_odd_sizes_are_resized_in_and_back_out(session, size):
    """Left part red, right part blue, top stripe white: the alpha follows at canvas size,
    so it is neither transposed nor shifted, and MODNet's /32 input size was used."""
    w, h = size
    canvas = np.zeros((h, w, 3), np.uint8)
    canvas[:, : w // 3] = (255, 0, 0)
    canvas[:, w // 3:] = (0, 0, 255)
    canvas[: h // 4] = (255, 255, 255)
    (alpha,) = session.predict([canvas])
    assert alpha.shape == (h, w) and alpha.dtype == np.float32
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0
    expected = expected_alpha(canvas)
    # away from the edges between colours the resize is exact
    margin_x, margin_y = max(4, w // 20), max(4, h // 20)
    interior = np.ones((h, w), bool)
    interior[:, w // 3 - margin_x: w // 3 + margin_x] = False
    interior[h // 4 - margin_y: h // 4 + margin_y] = False
    np.testing.assert_allclose(alpha[interior], expected[interior], atol=1e-4)


def test_batching_matches_one_by_one(session):
    rng = np.random.default_rng(4)
    canvases = [rng.integers(0, 256, (720, 720, 3), dtype=np.uint8) for _ in range(3)]
    canvases.insert(1, rng.integers(0, 256, (720, 640, 3), dtype=np.uint8))  # another size in the middle
    canvases.append(rng.integers(0, 256, (300, 200, 3), dtype=np.uint8))
    batched = session.predict(canvases)
    assert [a.shape for a in batched] == [c.shape[:2] for c in canvases]
    for c, a in zip(canvases, batched):
        np.testing.assert_allclose(a, session.predict([c])[0], atol=1e-6)


def test_a_fixed_batch_export_is_fed_one_canvas_at_a_time(tmp_path, session):
    fixed = ModnetSession(build_modnet_like(tmp_path / "b1.onnx", batch=1))
    assert fixed.max_batch == 1 and session.max_batch > 1
    rng = np.random.default_rng(5)
    canvases = [rng.integers(0, 256, (720, 720, 3), dtype=np.uint8) for _ in range(3)]
    for a, b in zip(fixed.predict(canvases), session.predict(canvases)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_provider_is_read_from_the_session(session):
    assert session.provider == CPU  # no CUDA on this machine
    assert session.describe() == "MODNet on CPU via onnxruntime CPUExecutionProvider"
    assert choose_providers([CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers([CUDA, CPU], use_gpu=False) == [CPU]
    assert choose_providers(["AzureExecutionProvider", CPU]) == [CPU]


# ---- bundled fallbacks ---------------------------------------------------------

def test_selfie_segments_the_face(face_crop, mesh_points):
    seg = SelfieSegmenter()
    canvas = cv2.resize(face_crop, (720, 720), interpolation=cv2.INTER_CUBIC)
    a, again = seg.predict([canvas, canvas])
    assert a.shape == (720, 720) and a.dtype == np.float32
    nose = (mesh_points[1] * 720 / 200).astype(int)
    assert a[nose[1], nose[0]] > 0.8  # face centre
    assert a[:40, -40:].mean() < 0.2  # top-right corner: the backdrop
    np.testing.assert_allclose(again, a, atol=1e-6)  # no state carried from call to call
    seg.close()


def test_face_oval_ring_is_derived_in_order():
    import mediapipe as mp

    edges = {frozenset(e) for e in mp.solutions.face_mesh.FACEMESH_FACE_OVAL}
    ring = face_oval_ring()
    assert len(ring) == len(set(ring)) == len(edges) == 36
    assert all(frozenset((ring[i], ring[(i + 1) % len(ring)])) in edges for i in range(len(ring)))
    assert ring_from_edges([(3, 1), (1, 2), (2, 3)]) == [1, 2, 3]
    with pytest.raises(ValueError):
        ring_from_edges([(0, 1), (1, 2)])  # open chain
    with pytest.raises(ValueError):
        ring_from_edges([(0, 1), (1, 2), (2, 0), (5, 6), (6, 7), (7, 5)])  # two loops


def assert_fills(mask: np.ndarray, poly: np.ndarray) -> None:
    """1 on every pixel whose centre is 1 px or more inside ``poly``, 0 from 2 px outside,
    and the mask's sum is the polygon's area plus at most the anti-aliased rim."""
    h, w = mask.shape
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    yy, xx = np.mgrid[:h:3, :w:3]  # every third pixel keeps pointPolygonTest cheap
    dist = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True)
                     for x, y in zip(xx.ravel(), yy.ravel())]).reshape(xx.shape)
    sampled = mask[::3, ::3]
    assert (sampled[dist >= 1.0] == 1.0).all()
    assert (sampled[dist <= -2.0] == 0.0).all()
    area = cv2.contourArea(contour)
    assert 0 <= mask.sum() - area <= cv2.arcLength(contour, True)


def test_face_oval_from_real_landmarks(face_crop, mesh_points):
    h, w = face_crop.shape[:2]
    ring = face_oval_ring()
    m = face_oval_mask(mesh_points, (w, h), ring)
    assert m.shape == (h, w) and m.dtype == np.float32
    nose = mesh_points[1].astype(int)
    assert m[nose[1], nose[0]] == 1.0
    assert m[0, 0] == m[-1, -1] == m[0, -1] == m[-1, 0] == 0.0
    assert_fills(m, mesh_points[ring])
    np.testing.assert_array_equal(face_oval_mask(mesh_points, (w, h)), m)  # ring derived when not given


def test_face_oval_without_landmarks_is_a_centred_ellipse():
    m = face_oval_mask(None, (720, 640))
    assert m.shape == (640, 720) and m[320, 360] == 1.0 and m[0, 0] == m[-1, -1] == 0.0
    yy, xx = np.mgrid[:640, :720]
    assert abs((m * xx).sum() / m.sum() - 359.5) < 0.1 and abs((m * yy).sum() / m.sum() - 319.5) < 0.1
    t = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    ellipse = np.stack([359.5 + 720 * 0.33 * np.cos(t), 319.5 + 640 * 0.42 * np.sin(t)], axis=1)
    assert_fills(m, ellipse)
    assert face_oval_mask(np.zeros((10, 2)), (64, 48)).shape == (48, 64)  # too few points: the ellipse


# ---- post-processing -------------------------------------------------------------

def disc(radius: float, size: int = 200) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return ((xx - size / 2) ** 2 + (yy - size / 2) ** 2 <= radius**2).astype(np.float32)


def test_grow_and_shrink_move_the_outline_by_grow_px():
    base = disc(40)
    areas = {g: postprocess_mask(base, g, 0).sum() for g in (-30, -20, -10, -3, 0, 3, 10, 20, 40)}
    assert list(areas.values()) == sorted(areas.values())
    assert areas[0] == base.sum()
    for g in (-30, -10, 10, 20, 40):  # beyond 8 px the disc is applied in steps
        radius = math.sqrt(areas[g] / math.pi)  # of the disc with that area
        assert abs(radius - (40 + g)) <= max(1.0, 0.03 * (40 + g)), (g, radius)
    grown = postprocess_mask(base, 40, 0)
    yy, xx = np.mgrid[:200, :200]
    r = np.hypot(xx - 100, yy - 100)
    assert grown[r <= 77].min() == 1.0 and grown[r >= 83].max() == 0.0  # a round outline, 80 px out


def test_wide_feathers_match_a_direct_gaussian_blur():
    base = face_oval_mask(None, (720, 720))
    for f in (20, 30, 60, 100, 128):
        sigma = f / 3.29
        exact = cv2.GaussianBlur(base, (0, 0), sigma, sigma, borderType=cv2.BORDER_REPLICATE)
        assert np.abs(postprocess_mask(base, 0, f) - exact).max() < 0.01


def test_feather_width_is_feather_px():
    step = np.zeros((64, 400), np.float32)
    step[:, 200:] = 1.0
    for f in (4, 16, 48, 100):
        row = postprocess_mask(step, 0, f)[32]
        width = np.argmax(row >= 0.95) - np.argmax(row > 0.05)
        assert abs(width - f) <= 1.5, (f, width)
        assert abs(row[199] + row[200] - 1.0) < 0.05  # centred on the outline
    soft = postprocess_mask(disc(50), 4, 12)
    assert soft.dtype == np.float32 and soft.min() >= 0.0 and soft.max() <= 1.0
    assert soft[100, 100] == pytest.approx(1.0) and soft[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert np.count_nonzero((soft > 0.01) & (soft < 0.99)) > np.count_nonzero((postprocess_mask(disc(50), 4, 3) > 0.01)
                                                                             & (postprocess_mask(disc(50), 4, 3) < 0.99))


def test_postprocess_clips_and_leaves_a_plain_mask_alone():
    wild = np.array([[-0.5, 0.25], [1.5, 1.0]], np.float64)
    out = postprocess_mask(wild, 0, 0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([[0.0, 0.25], [1.0, 1.0]], np.float32))


# ---- the Matter ---------------------------------------------------------------------

def test_fallback_chain_with_a_message(tmp_path, face_crop, onnx_path):
    m = Matter(models_dir=tmp_path, allow_download=False)
    res = m.matte([face_crop], "modnet")
    assert res.method_used == "selfie" and res.provider == ""
    assert res.message.startswith("MODNet unavailable (not found in")
    assert "downloads are off" in res.message and "used the bundled selfie segmenter" in res.message
    assert str(tmp_path / "modnet.onnx") in res.message and "huggingface.co" in res.message
    assert res.alphas[0].shape == face_crop.shape[:2]
    # the failure is remembered: same message, no new lookup
    assert m.matte([face_crop], "modnet").message == res.message
    explicit = Matter(modnet_path=onnx_path, allow_download=False)
    r2 = explicit.matte([face_crop, face_crop], "modnet")
    assert r2.method_used == "modnet" and r2.provider == CPU and r2.message == ""
    np.testing.assert_array_equal(r2.alphas[0], ModnetSession(onnx_path).predict([face_crop])[0])
    with pytest.raises(ValueError):
        m.matte([face_crop], "rembg")


def test_missing_explicit_file_falls_back_to_selfie(tmp_path, face_crop):
    res = Matter(modnet_path=tmp_path / "nope.onnx", allow_download=False).matte([face_crop], "modnet")
    assert res.method_used == "selfie"
    assert f"MODNet unavailable (no file at {tmp_path / 'nope.onnx'})" in res.message


def test_broken_model_file_falls_back(tmp_path, face_crop):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx model")
    res = Matter(modnet_path=bad, allow_download=False).matte([face_crop], "modnet")
    assert res.method_used == "selfie" and "could not be loaded" in res.message and str(bad) in res.message


def test_a_model_put_in_place_later_is_picked_up_after_forget_failures(tmp_path, face_crop, onnx_path):
    m = Matter(modnet_path=tmp_path / "later.onnx", allow_download=False)
    assert m.matte([face_crop], "modnet").method_used == "selfie"
    (tmp_path / "later.onnx").write_bytes(onnx_path.read_bytes())
    assert m.matte([face_crop], "modnet").method_used == "selfie"  # remembered
    m.forget_failures()
    assert m.matte([face_crop], "modnet").method_used == "modnet"


def test_face_oval_and_none(face_crop, mesh_points):
    m = Matter(allow_download=False)
    h, w = face_crop.shape[:2]
    res = m.matte([face_crop, face_crop], "face_oval", landmarks=[mesh_points, None])
    assert res.method_used == "face_oval" and res.message == ""
    np.testing.assert_array_equal(res.alphas[0], face_oval_mask(mesh_points, (w, h)))
    np.testing.assert_array_equal(res.alphas[1], face_oval_mask(None, (w, h)))
    ones = m.matte([face_crop], "none")
    assert ones.method_used == "none" and ones.alphas[0].shape == (h, w) and ones.alphas[0].min() == 1.0


def test_cuda_fallback_is_reported(onnx_path, face_crop):
    """onnxruntime-gpu without CUDA: the session's real provider is read and the fallback said."""
    m = Matter(modnet_path=onnx_path, allow_download=False)
    sess = m.modnet()
    sess.requested = CUDA  # as on a machine where CUDA is listed but does not load
    res = m.matte([face_crop], "modnet")
    assert res.provider == CPU
    assert "did not load" in res.message and "CPU" in res.message
