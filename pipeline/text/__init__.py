"""Text as the stages compare it: one normalisation in the shapes each detector needs, URL
tokens, and the boilerplate marker lines."""
