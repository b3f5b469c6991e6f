"""RSAD Review Desk: BERT-scored anomaly triage for recommender-platform behavior records.

Packages, lowest layer first (each imports only its own layer and the ones below; enforced by
tests/test_layering.py, described in docs/architecture.md):

- foundation: :mod:`rsad.errors`, :mod:`rsad.config` (the one settings object), :mod:`rsad.progress`
- :mod:`rsad.data`: the store (engine, ORM, migrations), reading and validating uploads
- :mod:`rsad.auth`: users, audit log, the role policy, browser sessions
- :mod:`rsad.model`: the classifier, ONNX scoring, version cards and registry, attributions
- :mod:`rsad.review`: the queue, claims, verdicts, the label rule, training sets, label export
- :mod:`rsad.evaluation`: metrics, evaluation sets, threshold pickers and reports
- :mod:`rsad.training`: fine-tuning, training on the store, retraining jobs
- :mod:`rsad.ops`: chunked scoring and rescoring, promotion, comparison, precompute, the demo
- :mod:`rsad.service`: what the pages (views/) and the CLI call, and nothing else of rsad
- :mod:`rsad.cli`: the ``rsad`` command
"""
