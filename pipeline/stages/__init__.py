"""The stages of a run, in the order `pipeline.run.process_chunk` applies them.

read (+ formats, decode) -> segment -> roles -> batch_evidence -> repeats -> topics -> articles
-> stories -> write. Each is a function over a DataFrame (row schemas in `pipeline.schema`) with
the state it needs passed in; no stage imports another (the read stage's parts aside).
"""
