"""The classifier and its versions.

- ``card``: ``TrainConfig``, ``TrainResult``, ``VersionCard``, ``read_card`` (the card beside the weights)
- ``classifier``: ``Classifier`` (``load``, ``score``, ``encode``), ``pick_device``, ``load_pretrained``
- ``onnx``: the ``onnx-int8`` CPU scorer; ``cls_forward``: the [CLS]-only last layer for attributions
- ``registry``: ``save_version`` (atomic), ``next_version_name``, ``clean_partial``
- ``versions``: ``VersionInfo``, ``get_version``, ``list_versions``, ``active_version``, ``load_classifier``
- ``explain``, ``pass_thread``: Layer Integrated Gradients and their HTML; ``attributions``: cached in the store
"""
