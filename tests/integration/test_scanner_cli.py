"""``onevisit devices detect`` output for image files."""
from __future__ import annotations

import json

import cv2
import numpy as np

from devices.scanner.cli import detect_images
from devices.scanner.geometry import jaccard
from devices.scanner.synth import make_scene


def test_detect_images_yields_one_dict_per_file(tmp_path):
    sc = make_scene(np.random.default_rng(61), 1280, 720, background="wood", occlusion="none", shadow=False)
    page = tmp_path / "page.jpg"
    cv2.imwrite(str(page), sc.image)
    empty = tmp_path / "desk.png"
    cv2.imwrite(str(empty), make_scene(np.random.default_rng(62), 640, 360, background="dark", empty=True).image)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\x00garbage")
    missing = tmp_path / "missing.png"
    out = list(detect_images([str(page), str(empty), str(broken), str(missing)]))
    assert [o["file"] for o in out] == [str(page), str(empty), str(broken), str(missing)]
    corners = out[0]["corners"]
    assert len(corners) == 4 and all(len(c) == 2 for c in corners)
    assert all(round(v, 1) == v for c in corners for v in c)
    assert jaccard(sc.corners, np.array(corners)) > 0.97
    assert 0.0 < out[0]["confidence"] <= 1.0 and out[0]["corners_outside"] == 0
    assert out[1] == {"file": str(empty), "corners": None}
    for o in out[2:]:
        assert o["corners"] is None and o["error"]["code"] == "unreadable" and o["error"]["message"]
    json.dumps(out)  # plain JSON types only


def test_devices_cli_detect_prints_json_lines(tmp_path, capsys):
    from devices.cli import main

    sc = make_scene(np.random.default_rng(63), 960, 540, background="dark", occlusion="none")
    cv2.imwrite(str(tmp_path / "a.png"), sc.image)
    code = main(["devices", "detect", str(tmp_path / "a.png"), str(tmp_path / "nope.png")])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1 and len(lines) == 2 and lines[0]["corners"] and lines[1]["error"]["code"] == "unreadable"
