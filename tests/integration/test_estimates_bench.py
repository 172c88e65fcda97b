"""The estimator benchmark (issue 17) runs and reports the estimators side by side as JSON."""
from __future__ import annotations

import json

from bench import estimates_bench


def test_benchmark_json_has_the_estimators_side_by_side_and_replays_its_days(tmp_path, capsys):
    out, kept = tmp_path / "estimates.json", tmp_path / "days"
    assert estimates_bench.main(["--quick", "--visitors", "90", "--out", str(out), "--keep", str(kept)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    full = json.loads(out.read_text())
    assert set(full["estimators"]) == {"range", "before", "today", "zms"}
    load = full["sets"]["standard"]["65"]
    for name in ("range", "before", "today", "zms", "range_waited", "before_waited", "today_waited", "zms_waited"):
        assert {"mae_min", "inside", "median_width_min", "mean_bias_min", "n"} <= set(load[name])
    for name in ("range", "before", "today", "zms"):
        assert 0 <= load[name]["inside"] <= 1 and load[name]["n"] > 0
    # Today's estimator prints no range of its own width; ours is never narrower than 3 min for a visitor who
    # has to wait.
    assert load["today"]["median_width_min"] == 0
    assert load["range_waited"]["n"] == 0 or load["range_waited"]["median_width_min"] >= 3
    assert set(last["meets_targets_at_65"]) == {"mae", "inside", "width"}
    # The kept day scores the same when replayed: the estimator is a pure function of the recorded inputs.
    again = tmp_path / "again.json"
    assert estimates_bench.main(["--quick", "--replay", str(kept), "--out", str(again)]) == 0
    assert json.loads(again.read_text())["sets"]["standard"]["65"]["range"] == load["range"]
