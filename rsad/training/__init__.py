"""rsad.training."""
