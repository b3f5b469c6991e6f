"""rsad.evaluation.evalset."""
