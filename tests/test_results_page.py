"""The results page (tools/results_page.py): paper rows, the book's own headlines, chapter 13's winners."""
import results_page


def entry(value, worse="change"):
    return {"value": value, "tol": {"abs": 0.02}, "worse": worse}


REFS = {"paper": {"values": {}, "measured": {}},
        "quick": {"measured": {}, "values": {
            "13_benchmark": {"delta_glm_shared_ring_threshold": entry(0.25, "rise"),
                             "delta_gnn_ring_threshold": entry(0.17, "rise"),
                             "delta_pearson_lag_ring_single_bump": entry(0.90, "rise"),
                             "auroc_pearson_lag_ei_common": entry(0.80, "fall"),
                             "auroc_glm_free_ei_common": entry(0.87, "fall"),
                             "auroc_ccg_ei": entry(0.81, "fall"), "benchmark_seconds": entry(700.0, "never")},
            "07_x": {"hd_profile_contrast": entry(1.5)}}}}


def test_the_winner_of_each_generator_is_the_lowest_delta_or_the_highest_auc():
    rows = {(g, score): (best, value, methods) for g, score, best, value, methods in
            results_page.benchmark_winners(REFS["quick"]["values"]["13_benchmark"])}
    assert rows == {("ring_threshold", "Δ"): ("gnn", 0.17, ["glm_shared", "gnn"]),
                    ("ring_single_bump", "Δ"): ("pearson_lag", 0.90, ["pearson_lag"]),
                    ("ei_common", "edge AUC"): ("glm_free", 0.87, ["glm_free", "pearson_lag"]),
                    ("ei", "edge AUC"): ("ccg", 0.81, ["ccg"])}


def test_headlines_show_the_value_or_say_why_it_is_missing():
    headlines = {"hd_profile_contrast": {"what": "contrast", "chapter": "07_x"},
                 "flow_ks": {"what": "KS of the flow", "chapter": "12_y", "why": "needs SCALE=paper: a GPU"},
                 "other": {"what": "something", "chapter": "09_z"}}
    text = "\n".join(results_page.ours_only(REFS, headlines))
    assert "| contrast | 1.5 | quick | [07](07_x.ipynb) |" in text
    assert "| KS of the flow | needs SCALE=paper: a GPU | – |" in text
    assert "| something | not measured yet | – |" in text
    assert "| ring_threshold | Δ | gnn | 0.17 |" in text
