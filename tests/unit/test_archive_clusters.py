"""`cluster --archive` and `cluster --model`: a cluster's name is the one most of its faces got from the index, never "unknown"."""
from __future__ import annotations

from celebface.data.cluster import majority_name


def test_a_cluster_is_named_only_by_a_majority_of_its_faces():
    assert majority_name(["Ann", "Ann", "unknown"]) == ("Ann", 0.667)
    assert majority_name(["Ann", "Bob"]) == (None, None)  # a tie is no majority
    assert majority_name(["unknown", "unknown", "Ann"]) == (None, None)
    assert majority_name([None, None, "Ann"]) == (None, None)  # faces too poor to name
    assert majority_name([]) == (None, None)
