"""Synthetic near-duplicate article bodies, for checking the same-story index at scale.

Stories are made from paragraphs of real text (the shared corpora's lines when present, read at
run time and never stored; else a built-in word model of made-up words with Zipf frequencies),
each story a random choice of paragraphs with a share of its words replaced, so that two stories
rarely share more than a few phrases. A page is either a new story or a *variant* of an earlier
story, made by one to three of:

- ``edit``: words substituted, deleted or inserted (up to 10%);
- ``truncate``: the opening part only, or a copy that starts mid-article;
- ``junk``: symbols inside words ("rec✱eption"), glued words, upper-cased words;
- ``boilerplate``: navigation and share lines added around the body, in a random order;
- ``reorder``: two paragraphs swapped.

Deterministic: the same (n_pages, seed, source) give the same frame. About 5k pages/s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import config

JUNK = np.array(list("✱★•※¤§|~^*#"), dtype=object)
BOILERPLATE = (
    "Home",
    "News",
    "World",
    "Business",
    "Share on Facebook",
    "Share on Twitter",
    "Subscribe to our newsletter",
    "Related News",
    "See more",
    "Most read",
    "Follow us",
    "Print",
    "Comments",
    "Back to top",
    "Copyright reserved",
    "Contact us",
)
OPERATIONS = ("edit", "truncate", "junk", "boilerplate", "reorder")
_WORD = re.compile(r"\S+")


def corpus_paragraphs(shared: Path | None = None, min_chars: int = 60) -> list[str]:
    """Lines of at least `min_chars` characters from the shared corpora's page dumps (sorted by
    path), or [] when the shared data is absent."""
    root = (shared or config.shared_dir()) / "corpus"
    if not root.is_dir():
        return []
    lines: list[str] = []
    for path in sorted(root.rglob("*.txt")):
        lines.extend(x.strip() for x in path.read_text(encoding="utf-8", errors="replace").splitlines())
    return [x for x in lines if len(x) >= min_chars]


def builtin_paragraphs(n: int = 3000, seed: int = 0) -> list[str]:
    """`n` paragraphs of 15-60 made-up words drawn with Zipf frequencies (no shared data needed)."""
    rng = np.random.default_rng(seed)
    syllables = np.array(
        [c + v for c in "bcdfghklmnprstvz" for v in ("a", "e", "i", "o", "u", "an", "en", "or")], dtype=object
    )
    sizes = rng.integers(1, 4, size=20_000)
    vocab = np.array(["".join(rng.choice(syllables, size=k)) for k in sizes], dtype=object)
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    lengths = rng.integers(15, 61, size=n)
    words = rng.choice(vocab, size=int(lengths.sum()), p=weights)
    bounds = np.r_[0, np.cumsum(lengths)]
    return [" ".join(words[bounds[i] : bounds[i + 1]]).capitalize() + "." for i in range(n)]


@dataclass(frozen=True)
class SyntheticPages:
    """Generator of synthetic same-story pages.

    Parameters
    ----------
    seed : int
    variant_rate : float
        Share of pages that are a variant of an earlier story.
    paragraphs : (int, int)
        Paragraphs per story (inclusive range).
    rewrite : float
        Share of a story's words replaced by random words when the story is made.
    """

    seed: int = 0
    variant_rate: float = 0.3
    paragraphs: tuple[int, int] = (4, 12)
    rewrite: float = 0.25

    def generate(self, n_pages: int, source: list[str] | None = None) -> pd.DataFrame:
        """`n_pages` pages in first-seen order.

        Parameters
        ----------
        source : list of str, optional
            Real paragraphs (default: `corpus_paragraphs()`, else `builtin_paragraphs()`).

        Returns
        -------
        DataFrame, shape (n_pages, 4): doc_id ("s0000001"...), body (paragraphs joined by a
        blank line), story (int, the story it tells), ops (";"-joined operations, "" for the
        first page of a story).
        """
        rng = np.random.default_rng(self.seed)
        source = source if source is not None else (corpus_paragraphs() or builtin_paragraphs(seed=self.seed))
        pool = [np.array(_WORD.findall(p), dtype=object) for p in source]
        vocab = np.concatenate(pool)
        stories: list[list[np.ndarray]] = []
        bodies, story_of, ops_of = [], np.zeros(n_pages, dtype=np.int64), []
        for i in range(n_pages):
            if stories and rng.random() < self.variant_rate:
                story = int(rng.integers(len(stories)))
                ops = sorted(set(rng.choice(OPERATIONS, size=int(rng.integers(1, 4)))))
                paragraphs = self._variant(stories[story], ops, rng, vocab)
            else:
                story, ops = len(stories), []
                stories.append(self._story(pool, rng, vocab))
                paragraphs = [" ".join(p) for p in stories[story]]
            bodies.append("\n\n".join(paragraphs))
            story_of[i] = story
            ops_of.append(";".join(ops))
        return pd.DataFrame(
            {
                "doc_id": [f"s{i:07d}" for i in range(n_pages)],
                "body": bodies,
                "story": story_of,
                "ops": ops_of,
            }
        )

    def _story(self, pool: list[np.ndarray], rng: np.random.Generator, vocab: np.ndarray) -> list[np.ndarray]:
        chosen = rng.integers(len(pool), size=int(rng.integers(self.paragraphs[0], self.paragraphs[1] + 1)))
        words = np.concatenate([pool[k] for k in chosen])
        mask = rng.random(len(words)) < self.rewrite
        words[mask] = _draw(vocab, int(mask.sum()), rng)
        return np.split(words, np.cumsum([len(pool[k]) for k in chosen])[:-1])

    @staticmethod
    def _variant(
        story: list[np.ndarray], ops: list[str], rng: np.random.Generator, vocab: np.ndarray
    ) -> list[str]:
        paragraphs = [p.copy() for p in story]
        if "truncate" in ops and len(paragraphs) > 2:
            keep = max(2, int(len(paragraphs) * rng.uniform(0.5, 0.9)))
            paragraphs = paragraphs[:keep] if rng.random() < 0.5 else paragraphs[-keep:]
        if "reorder" in ops and len(paragraphs) > 1:
            a, b = rng.choice(len(paragraphs), size=2, replace=False)
            paragraphs[a], paragraphs[b] = paragraphs[b], paragraphs[a]
        if "edit" in ops:
            rate = rng.uniform(0.01, 0.1)
            edited = []
            for words in paragraphs:
                roll = rng.random(len(words))
                words = np.where(roll < rate / 3, _draw(vocab, len(words), rng), words)  # substitute
                words = words[~((roll >= rate / 3) & (roll < 2 * rate / 3))]  # delete
                inserted = rng.random(len(words)) < rate / 3
                words = np.insert(words, np.flatnonzero(inserted), _draw(vocab, int(inserted.sum()), rng))
                edited.append(words)
            paragraphs = edited
        texts = [" ".join(p) for p in paragraphs]
        if "junk" in ops:
            texts = [_junk(t, rng) for t in texts]
        if "boilerplate" in ops:
            lines = list(rng.choice(np.array(BOILERPLATE, dtype=object), size=int(rng.integers(2, 7))))
            cut = int(rng.integers(len(lines) + 1))
            texts = lines[:cut] + texts + lines[cut:]
        return texts


def _draw(vocab: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` words drawn uniformly from the token list `vocab` (so by corpus frequency)."""
    return vocab[rng.integers(len(vocab), size=size)]


def _junk(text: str, rng: np.random.Generator) -> str:
    """Symbols inside ~5% of words, ~5% of spaces dropped (glued words), ~3% words upper-cased."""
    words = np.array(text.split(" "), dtype=object)
    roll = rng.random(len(words))
    for k in np.flatnonzero(roll < 0.05):
        w = words[k]
        cut = int(rng.integers(len(w) + 1))
        words[k] = w[:cut] + JUNK[rng.integers(len(JUNK))] + w[cut:]
    for k in np.flatnonzero((roll >= 0.05) & (roll < 0.08)):
        words[k] = words[k].upper()
    glue = rng.random(max(len(words) - 1, 0)) < 0.05
    parts = [words[0]] if len(words) else []
    for k in range(1, len(words)):
        parts.append(("" if glue[k - 1] else " ") + words[k])
    return "".join(parts)
