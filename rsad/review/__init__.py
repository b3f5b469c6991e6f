"""Review: from a scored batch to labels.

- ``work_queue``: ``QueueFilter``, ``queue_page``, ``position_of``, ``case_detail`` (paged in SQL)
- ``claims``: ``claim``, ``release_all``: who holds which case for a few minutes
- ``verdicts``: ``record_verdicts`` (once per submission), ``add_verdict``, ``latest_verdict_id``
- ``labels``: the label rule (``current_labels``, ``resolve_votes``)
- ``trainset``: ``assemble``: the training set the store's labels give
- ``start_queue``: ``start_page``, ``label_counts``, ``StartQueue``: "label to start" (no model yet)
- ``reports``: ``verdict_table``, ``analysts``, ``agreement``; ``export``: ``export_labels``, ``labels_bytes``
"""
