"""rsad.model.classifier."""
