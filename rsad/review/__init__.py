"""rsad.review."""
