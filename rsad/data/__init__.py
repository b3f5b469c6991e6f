"""The label store and what goes into it.

- ``db``: ``Store`` (engine, sessions, migrations on open), ``make_engine``, ``upgrade``
- ``orm``: the tables (SQLAlchemy 2.0 ``Mapped[...]``); ``migrations/``: Alembic, shipped in the package
- ``reading``, ``ingest``: a file's bytes to a validated ``PreparedBatch`` (``load_batch``, ``ColumnMap``)
- ``describe``, ``synth``: event logs to behavior descriptions; the demo's synthetic platform
- ``store``: batches, cases and scores (session first, never commits)
- ``coverage``: the cases' coverage rank (``unranked_cases``, ``write_ranks``)
- ``uploads``: ``ingest_file``, ``save_batch``, ``preview_table``, ``same_file_batch`` on a Store
- ``csvsafe``: formula-injection guard for CSV export and import
"""
