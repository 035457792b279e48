"""Out-of-fold evaluation of the whole pipeline and its printed report (`make eval`; never
imported by a run)."""
