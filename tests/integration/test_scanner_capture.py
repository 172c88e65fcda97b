"""Frame sources, auto-capture, blur rejection, page output and PDF."""
from __future__ import annotations

import re
import time

import cv2
import numpy as np
import pytest

from devices.scanner import (
    AutoCapture,
    CameraUnavailable,
    FrameTimeout,
    ScannedPage,
    capture_page,
    make_page,
    observe,
    open_camera,
    pages_to_pdf,
    probe_health,
)
from devices.scanner.detect import find_page
from devices.scanner.geometry import jaccard
from devices.scanner.synth import make_scene

SIM = "sim://?width=960&height=540&seed={seed}&moving={moving}"


def test_sim_camera_is_deterministic_and_settles():
    a, b = open_camera(SIM.format(seed=3, moving=4)), open_camera(SIM.format(seed=3, moving=4))
    try:
        frames_a = [a.read_frame() for _ in range(6)]
        frames_b = [b.read_frame() for _ in range(6)]
        assert all(np.array_equal(x, y) for x, y in zip(frames_a, frames_b))
        assert not np.array_equal(frames_a[0], frames_a[1])  # still sliding in
        assert np.array_equal(frames_a[4], frames_a[5])  # at rest
        assert jaccard(a.truth(), find_page(frames_a[5])) > 0.97
        assert a.health().state == "online"
    finally:
        a.close()
        b.close()
    assert a.health().state == "offline"


def test_auto_capture_waits_for_steady_frames():
    cam = open_camera(SIM.format(seed=5, moving=5))
    auto = AutoCapture(steady_frames=3)
    statuses = [auto.feed(cam.read_frame()).status for _ in range(5)]
    # While the page slides in, nothing is captured.
    assert "captured" not in statuses
    results = [auto.feed(cam.read_frame()) for _ in range(4)]
    cam.close()
    captured = [r for r in results if r.status == "captured"]
    assert len(captured) == 1, [r.status for r in results]
    # The page was at rest from frame 5; the third still frame triggers.
    assert results[2].status == "captured"
    assert results[3].status == "done"
    page = captured[0].page
    assert isinstance(page, ScannedPage) and page.page_size_name == "A4"
    assert page.image_jpeg[:2] == b"\xff\xd8"
    assert abs(page.height / page.width - 297 / 210) < 0.01
    assert captured[0].observation.steady and captured[0].observation.sharpness > 40


def test_auto_capture_reports_no_page_on_empty_desk():
    cam = open_camera("sim://?width=640&height=360&page=none")
    auto = AutoCapture(steady_frames=2)
    assert {auto.feed(cam.read_frame()).status for _ in range(3)} == {"no_page"}


def test_capture_page_over_a_camera():
    cam = open_camera(SIM.format(seed=9, moving=3))
    result = capture_page(cam, AutoCapture(steady_frames=2, mode="document"), max_frames=20)
    cam.close()
    assert result.status == "captured" and result.page.mode == "document"
    img = cv2.imdecode(np.frombuffer(result.page.image_jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    # A binarised page is nearly all paper-white or ink-black.
    assert np.mean((img < 40) | (img > 215)) > 0.95


def test_blurred_page_is_rejected_with_a_message():
    sc = make_scene(np.random.default_rng(4), 1280, 720, background="dark", page_kind="A4",
                    occlusion="none", shadow=False, blur_sigma=0.0, noise_sigma=1.0)
    blurred = cv2.GaussianBlur(sc.image, (0, 0), 5.0)
    auto = AutoCapture(steady_frames=2)
    results = [auto.feed(blurred) for _ in range(2)]
    assert results[-1].status == "blurry"
    assert "blurred" in results[-1].message and results[-1].page is None
    sharp_auto = AutoCapture(steady_frames=2)
    assert [sharp_auto.feed(sc.image).status for _ in range(2)][-1] == "captured"
    assert observe(sc.image).sharpness > 5 * observe(blurred).sharpness


def test_warp_has_the_page_aspect():
    for kind, aspect in (("A4", 297 / 210), ("ID-1", 53.98 / 85.6), ("Letter", 279.4 / 215.9)):
        sc = make_scene(np.random.default_rng(31), 1280, 720, page_kind=kind, background="dark",
                        occlusion="none", shadow=False)
        page = make_page(sc.image, sc.corners)
        expected = aspect if not sc.landscape else 1 / aspect
        assert page.page_size_name == kind
        assert abs(page.height / page.width - expected) / expected < 0.01


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


def test_pdf_has_one_page_per_scan_with_its_paper_size():
    pages = []
    for seed, kind in ((41, "A4"), (42, "ID-1"), (43, "A4")):
        sc = make_scene(np.random.default_rng(seed), 1280, 720, page_kind=kind, background="wood",
                        occlusion="none", shadow=False)
        pages.append(make_page(sc.image, sc.corners, "document" if seed == 43 else "color", png=seed == 43))
    pdf = pages_to_pdf(pages)
    assert pdf.startswith(b"%PDF")
    boxes = _pdf_pages(pdf)
    assert len(boxes) == 3
    mm = [(w / 72 * 25.4, h / 72 * 25.4) for w, h in boxes]
    for (w, h), page in zip(mm, pages):
        short, long_ = sorted((w, h))
        if page.page_size_name == "A4":
            assert abs(short - 210) < 1 and abs(long_ - 297) < 1
        else:
            assert abs(short - 53.98) < 1 and abs(long_ - 85.6) < 1
        assert (w > h) == (page.width > page.height)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 3


def test_file_camera_cycles_through_a_directory(tmp_path):
    for i in range(2):
        sc = make_scene(np.random.default_rng(50 + i), 640, 360, background="dark", occlusion="none")
        cv2.imwrite(str(tmp_path / f"p{i}.png"), sc.image)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    cam = open_camera(f"file://{tmp_path}")
    frames = [cam.read_frame() for _ in range(5)]
    cam.close()
    assert all(f.shape == (360, 640, 3) for f in frames)
    assert np.array_equal(frames[0], frames[2]) and not np.array_equal(frames[0], frames[1])
    assert probe_health(f"file://{tmp_path}").state == "online"


def test_missing_camera_is_offline_without_hanging():
    t = time.monotonic()
    health = probe_health("camera://99")
    assert time.monotonic() - t < 6
    assert health.state == "offline" and health.kind == "scanner" and health.reason
    with pytest.raises(CameraUnavailable):
        open_camera("camera://99")


def test_stalled_camera_ends_in_fault():
    t = time.monotonic()
    health = probe_health("sim://?width=320&height=240&stall_after=0&timeout=0.2")
    assert time.monotonic() - t < 2
    assert health.state == "fault" and "no frame" in health.reason
    cam = open_camera("sim://?width=320&height=240&stall_after=1&timeout=0.1")
    cam.read_frame()
    with pytest.raises(FrameTimeout):
        cam.read_frame()
    assert cam.health().state == "fault"
    cam.close()


def test_unknown_scheme_and_bad_parameters_are_offline():
    assert probe_health("scanner-x://1").state == "offline"
    assert probe_health("sim://?page=B9").state == "offline"
    assert probe_health("file:///no/such/dir").state == "offline"
