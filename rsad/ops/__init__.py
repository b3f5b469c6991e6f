"""rsad.ops."""
