"""Long-running operations on a Store.

- ``scoring``: ``score_batch``, ``rescore``, ``rescore_status``: chunked, committed, resumable
- ``lifecycle``: ``promote``, ``rollback``, ``history`` (recorded model events)
- ``compare``: ``compare``: a candidate against the active version on the same evidence
- ``precompute``: attributions before an analyst asks (``start_precompute``, ``start_explain_ahead``)
- ``coverage``: ``rank_for_coverage``, ``start_ranking``: the "label to start" order (base-model clusters)
- ``background``: ``BackgroundJob``, ``prefetch``; ``demo``: ``bootstrap``, ``needs_bootstrap``
"""
