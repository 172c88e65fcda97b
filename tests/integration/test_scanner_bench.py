"""``bench.scan_bench`` runs end to end on a handful of small photos and prints its JSON."""
from __future__ import annotations

import json

from bench.scan_bench import main


def test_scan_bench_prints_one_json_summary(capsys, tmp_path):
    assert main(["--n", "6", "--seed", "5", "--width", "800", "--height", "450", "--out", str(tmp_path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["images"] == 6 and result["frame_size"] == [800, 450] and result["threads"] == 1
    for who in ("ours", "baseline"):
        s = result[who]
        assert 0.0 <= s["median_jaccard"] <= 1.0 and 0.0 <= s["mean_jaccard"] <= 1.0
        assert 0 <= s["misses"] <= s["failures"] <= 6
        assert s["cpu_ms_per_frame"] > 0 and s["ms_per_frame"] > 0
    # The saved set is a usable labelled data set: every photo with its ground truth.
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert len(truth) == 6 and all((tmp_path / t["file"]).exists() for t in truth)
    assert all(len(t["corners"]) == 4 for t in truth)
