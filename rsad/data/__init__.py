"""rsad.data."""
