"""Training data and the training of the shipped models (`make train`; never imported by a run)."""
