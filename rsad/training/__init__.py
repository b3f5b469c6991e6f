"""Making new versions.

- ``fine_tune``: ``fine_tune``, ``split_table``: the PyTorch loop (class weights, early stopping)
- ``train``: ``train_table``, ``train_file``, ``start_truncation``: fine-tune, save, register
- ``jobs``: ``start``, ``stop``, ``recent``, ``RetrainParams``: retraining jobs recorded in the store
- ``runner``: ``run``: what ``rsad jobs run ID`` does in its detached process
"""
