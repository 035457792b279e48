"""Viterbi decoding of every page's line sequence at once (an HMM over the lines' roles).

The line model's optional `smooth` pass (off in the shipped model: its context pass already
smooths; docs/line-model.md has the measurement).
"""

from __future__ import annotations

import numpy as np


def viterbi(
    log_emit: np.ndarray, starts: np.ndarray, ends: np.ndarray, log_trans: np.ndarray, log_start: np.ndarray
) -> np.ndarray:
    """Most likely state sequence of every page (an HMM over its lines), shape (n_lines,), int.

    Parameters
    ----------
    log_emit : ndarray, shape (n_lines, n_states), log emission scores of each line.
    starts, ends : ndarray of int, shape (n_pages,), rows of each page (contiguous, in order).
    log_trans : ndarray, shape (n_states, n_states), log P(next state j | state i).
    log_start : ndarray, shape (n_states,), log P(first state).

    One numpy step per line position, over all pages at once: the loop runs as many times as
    the longest page has lines, not once per line.
    """
    n, k = log_emit.shape
    states = np.zeros(n, dtype=np.int64)
    if not n:
        return states
    lengths = ends - starts
    order = np.argsort(-lengths, kind="stable")  # pages still running at t are a prefix
    sorted_starts, sorted_lengths = starts[order], lengths[order]
    back = np.zeros((n, k), dtype=np.int8)
    score = log_start[None, :] + log_emit[sorted_starts]
    for t in range(1, int(sorted_lengths[0]) if len(sorted_lengths) else 0):
        live = int(np.searchsorted(-sorted_lengths, -t, side="left"))  # pages with length > t
        rows = sorted_starts[:live] + t
        cand = score[:live, :, None] + log_trans[None, :, :]
        best = np.argmax(cand, axis=1)
        back[rows] = best
        score[:live] = np.take_along_axis(cand, best[:, None, :], axis=1)[:, 0, :] + log_emit[rows]
    current = np.argmax(score, axis=1)
    for t in range(int(sorted_lengths[0]) - 1, 0, -1):
        live = int(np.searchsorted(-sorted_lengths, -t, side="left"))
        rows = sorted_starts[:live] + t
        states[rows] = current[:live]
        current[:live] = back[rows, current[:live]]
    states[sorted_starts] = current
    return states
