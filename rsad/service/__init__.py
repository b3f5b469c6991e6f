"""rsad.service."""
