"""Similarity sketches, one module per structure: hashing, shingles, MinHash (bit-identical to
datasketch), LSH banding, and the same-story index with its storage."""
