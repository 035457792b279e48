"""Benchmarks and the page generators they run on; nothing on the run path imports this package.

- `speed`: pages/s, memory and stage times against N, trafilatura and ``--jobs`` (`make bench`);
- `pagegen`: whole-page dumps generated from a vocabulary, at any N;
- `synth` + `index`: near-duplicate pages and the same-story index against brute-force Jaccard.
"""
