"""``bench.scan_bench`` runs end to end on a handful of small photos of both sets and prints its JSON."""
from __future__ import annotations

import json

from bench.scan_bench import DETECTORS, main


def test_scan_bench_prints_one_json_summary(capsys, tmp_path):
    assert main(["--n", "4", "--seed", "5", "--set2-seed", "6", "--width", "640", "--height", "360",
                 "--out", str(tmp_path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["images_per_set"] == 4 and result["frame_size"] == [640, 360] and result["threads"] == 1
    assert set(result["sets"]) == {"synth", "set2"}
    for name, sec in result["sets"].items():
        assert sec["images"] == 4
        for who in DETECTORS:  # our detector and every baseline, in the same run
            s = sec[who]
            assert 0.0 <= s["median_jaccard"] <= 1.0 and 0.0 <= s["mean_jaccard"] <= 1.0
            assert 0 <= s["misses"] <= s["below_0_90"] <= 4
            assert s["share_below_0_90"] == round(s["below_0_90"] / 4, 4)
            assert s["cpu_ms_per_1080p_frame"] > 0
        kinds = sec["by_kind_ours"]
        assert sum(v["n"] for v in kinds.values()) >= 4 and all(0 <= v["mean_jaccard"] <= 1 for v in kinds.values())
        # The saved set is a usable labelled data set: every photo with its ground truth.
        truth = json.loads((tmp_path / f"{name}_truth.json").read_text())
        assert len(truth) == 4 and all((tmp_path / t["file"]).exists() for t in truth)
        assert all(len(t["corners"]) == 4 and "ours_ji" in t for t in truth)
