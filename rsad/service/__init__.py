"""The service layer: everything the pages (views/) and the CLI call, and nothing else of rsad.

Each function takes a ``Store`` first and opens its own transactions; records cross as typed
values (``VersionInfo``, ``QueuePage``, ``CaseView``, ``Switch``, ``QueueFilter``, ``User``, ``Action``)
or plain data, never ORM rows.

- ``batches``: ``open_store``, ``overview``, ``ingest_file``, ``score_batch``, ``delete_batch``, ``bootstrap``
- ``review``: ``queue``, ``case_view``, ``claim_case``, ``record_verdicts``, ``explanation``
- ``labels``: ``verdict_table``, ``agreement``, ``labels_bytes``, ``export_labels``
- ``models``: ``list_versions``, ``get_version``, ``promote``, ``rollback``, ``rescore``, ``compare``, ``train_file``
- ``drift``: ``batch_checks``, ``batch_check``, ``describe``, ``warning_text`` (foreign batches, drift)
- ``jobs``: retraining jobs (``start``, ``stop``, ``recent``, ``run``, ``start_first_model``)
- ``start``: a project's first model: ``rank_for_coverage``, ``start_ranking``, ``start_queue``, ``start_first_model``
- ``thresholds``: ``report``, pickers, ``segment_table``, ``calibration``, ``save``
- ``projects``: ``list_projects``, ``add_project``, ``current_project``, ``remember_project``
- ``users``, ``policies``, ``sessions``: sign-in, the role policy, browser sessions
"""
