"""Small contact sheets for the README from a ``scan_bench --out DIR`` run.

    python -m bench.scan_figures /tmp/scans docs/scan

Each tile is one photo of the second set, shrunk, with the ground truth in green and our
detection in red; ``set2_examples.png`` shows one good result per kind of hard case,
``set2_failures.png`` the worst results. PNGs are colour-quantised to stay small.
"""
from __future__ import annotations

import argparse
import json
import os

import cv2
import numpy as np
from PIL import Image

from devices.scanner.detect import detect_page
from devices.scanner.geometry import jaccard

TILE_H = 200
WANTED = ("idcard", "receipt", "form", "multicolumn", "blank", "corner_out", "occluded", "glare", "white")


def _tile(img: np.ndarray, truth: list, found, label: str) -> np.ndarray:
    h, w = img.shape[:2]
    s = TILE_H / h
    # Room around the photo so corners outside the frame stay in the picture.
    pad = int(0.12 * TILE_H)
    canvas = np.full((TILE_H + 2 * pad, int(w * s) + 2 * pad, 3), 40, np.uint8)
    canvas[pad:pad + TILE_H, pad:pad + int(w * s)] = cv2.resize(img, (int(w * s), TILE_H), interpolation=cv2.INTER_AREA)
    off = np.array([pad, pad], np.float64)
    cv2.polylines(canvas, [np.round(np.asarray(truth) * s + off).astype(np.int32)], True, (60, 220, 60), 2, cv2.LINE_AA)
    if found is not None:
        cv2.polylines(canvas, [np.round(found.corners * s + off).astype(np.int32)], True, (40, 40, 230), 1,
                      cv2.LINE_AA)
        label += f" conf {found.confidence:.2f}"
    cv2.putText(canvas, label, (4, 12), cv2.FONT_HERSHEY_PLAIN, 0.8, (0, 230, 255), 1, cv2.LINE_AA)
    return canvas


def _sheet(tiles: list[np.ndarray], per_row: int) -> np.ndarray:
    h = max(t.shape[0] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, h - t.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(40, 40, 40)) for t in tiles]
    rows = [tiles[i:i + per_row] for i in range(0, len(tiles), per_row)]
    width = max(sum(t.shape[1] for t in r) for r in rows)
    out = [cv2.copyMakeBorder(np.hstack(r), 0, 0, 0, width - sum(t.shape[1] for t in r), cv2.BORDER_CONSTANT,
                              value=(40, 40, 40)) for r in rows]
    return np.vstack(out)


def _save_png(img: np.ndarray, path: str) -> None:
    Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).quantize(colors=96).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)
    rows = json.load(open(os.path.join(args.run_dir, "set2_truth.json")))
    os.makedirs(args.out_dir, exist_ok=True)
    # Detect again on the saved JPEGs (re-encoded, so a result may differ slightly from the run's).
    seen = []
    for r in rows:
        img = cv2.imread(os.path.join(args.run_dir, r["file"]), cv2.IMREAD_COLOR)
        found = detect_page(img)
        seen.append((r, img, found, jaccard(np.asarray(r["corners"]), None if found is None else found.corners)))
    good, used = [], set()
    for want in WANTED:
        for r, img, found, ji in seen:
            if want in r["tags"] and r["file"] not in used and ji >= 0.97:
                used.add(r["file"])
                good.append(_tile(img, r["corners"], found, f"{want} JI {ji:.3f}"))
                break
    worst = sorted(seen, key=lambda x: x[3])[:8]
    keep = WANTED + ("side_out", "baseplate")
    bad = [_tile(img, r["corners"], found, f"{'/'.join(t for t in r['tags'] if t in keep)} JI {ji:.2f}")
           for r, img, found, ji in worst]
    _save_png(_sheet(good, 4), os.path.join(args.out_dir, "set2_examples.png"))
    _save_png(_sheet(bad, 4), os.path.join(args.out_dir, "set2_failures.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
