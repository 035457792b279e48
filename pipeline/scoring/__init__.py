"""What the models and a run are scored against: the labelled corpora and the referees' metrics
(used by training and evaluation alike; a run never imports it)."""
