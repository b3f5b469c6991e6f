"""How good a version is, and where its alert line sits.

- ``metrics``: ``binary_metrics``, ``curves``, ``default_threshold``, calibration helpers (scikit-learn)
- ``evalset``: ``collect``/``evaluate``: labeled cases a version did not train on; ``evaluate_file``
- ``pickers``: ``Pick``, ``parse_pick``, ``pick`` (max F1, precision, recall, FPR, cost, capacity)
- ``thresholds``: ``report``, ``segment_table``, ``calibration``, ``save``, ``history``
- ``threshold_log``: the saved threshold and its history (session first)
"""
