"""Synthetic whole-page dumps for benchmarks: the shape of the dev corpora, none of their text.

A generated page looks like a news page rendered to plain text by a scraper (zyte-dev's size:
about 9 KB and 240 lines, 165 of them non-empty, on average): the ``<title>`` line, navigation
menus and breadcrumbs, the headline, a standfirst that the first paragraph repeats, byline and date
lines, article paragraphs, photo captions scraped twice, share prompts, a tag line, "Related News" /
"See more" teaser lists (headline, summary, sometimes a caption or a date), reader comments and a
footer. Some pages are tag/listing pages (teasers only), some republish an earlier story on another
site (same-story pages), some are spam mirrors of an earlier page with junk characters in the text.

Words come from a unigram model: the word frequencies of the shared corpora when they are present
(read at run time, never stored), else a built-in vocabulary (common English words plus a Zipf tail
of made-up words). Lines are random word sequences, so only the *structure* and the statistics
(line lengths, repeats within and across pages, vocabulary size) are realistic.

Determinism: pages are made in shards of `SHARD_PAGES`; shard ``s`` depends only on the seed, the
vocabulary and ``s``. So the first N pages are the same whatever the total, the format or the number
of worker processes.

Command line::

    python -m pipeline.bench.pagegen OUT --pages 10000 [--seed 0] [--format auto|txt|jsonl.gz] [--jobs 2]

``txt`` writes ``OUT/shard-00000/p0000000.txt`` ... (one folder per shard); ``jsonl.gz`` writes
``OUT/shard-00000.jsonl.gz`` (records ``{"id", "url", "text"}``); ``auto`` picks txt up to
`TXT_MAX_PAGES` pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 3
"""Bumped whenever the output for a given seed changes (cached data sets are then rebuilt)."""

SHARD_PAGES = 1000
"""Pages per shard: the unit of determinism, of parallel work, and of output files/folders."""

TXT_MAX_PAGES = 100_000
"""``--format auto`` writes .txt files up to this many pages, .jsonl.gz shards above."""

N_SITES = 300
"""Distinct sites (menus, footers, styles); pages of a site share their boilerplate lines. Sites
get pages by a Zipf law, so a few large sites repeat their menus across many pages of a shard."""


def _wordlist(text: str) -> list[str]:
    return text.split()


# --- vocabulary ------------------------------------------------------------------------------

_COMMON = _wordlist(
    """the of and to a in that is was for on it with as he said by at from his be have an
has are but not this they were had who their which after its been will one more also would there
two all new about when up out than over into year we some other people could them can first three
last time only most what police told can since during before while under against government such
many where found including between state country officials may local court case week days years
month report according city province national public security minister president group border"""
)

_NEWS = _wordlist(
    """authorities investigation arrested suspects seized minister officials ministry agency
meeting cooperation economy trade market growth billion million percent company companies project
development election party leaders region regional international foreign policy support plan
workers students school hospital health water weather flood rain road traffic transport bridge
village district capital festival tourism visitors culture sport football team match season
price prices energy oil power farmers rice export imports investment bank finance budget"""
)

_TOPIC = _wordlist(
    """drugs drug methamphetamine heroin meth pills trafficking smuggling smuggled syndicate
narcotics seizure raid raids traffickers cocaine cannabis ketamine gang network laundering scam
arrests prosecutors sentenced prison charged extradited crime criminal"""
)

_SECTIONS = _wordlist(
    """Home News World Business Politics Sports Entertainment Lifestyle Opinion Video
Photos Technology Science Health Travel Culture Education Economy Markets Weather Society Crime
Law Environment Asia Europe Americas Africa Property Auto Food Fashion Music Movies Books Podcasts
Newsletters Subscribe Login Search Menu Contact Archives Events Jobs Classifieds"""
)

_FOOTER = [
    "About us",
    "Contact us",
    "Advertise with us",
    "Privacy policy",
    "Terms of use",
    "Cookie settings",
    "Careers",
    "Sitemap",
    "RSS feeds",
    "Editorial standards",
    "Help centre",
    "Corrections",
    "Newsletter sign-up",
    "Follow us",
    "Download our app",
]

_SHARE = ["Share", "Facebook", "Twitter", "WhatsApp", "Email", "Print", "Copy link", "LinkedIn"]
_RELATED = ["Related News", "See more", "Read more", "More from this section", "Latest news", "You may like"]
_JUNK_SYMBOLS = ["\ufffd", "✱", "★", "Â", "\u200b", "¤", "▪", "ảnh"]

_TOKEN = re.compile(r"[^\W_][\w'’.,-]*[^\W_]|[^\W_]")


@dataclass(frozen=True)
class Vocabulary:
    """A unigram word model: words with cumulative probabilities, plus an on-topic word model.

    Attributes
    ----------
    words, topic_words : object arrays of str, shapes (n_words,) and (n_topic_words,)
    cum, topic_cum : float64 arrays of the same shapes, cumulative probabilities ending at 1
    names : object array of capitalised proper names, shape (n_names,)
    source : "builtin" or "shared:<n files>"
    """

    words: np.ndarray
    cum: np.ndarray
    topic_words: np.ndarray
    topic_cum: np.ndarray
    names: np.ndarray
    source: str

    @classmethod
    def builtin(cls, n_tail: int = 30_000, seed: int = 0) -> Vocabulary:
        """Common and news words ahead of a Zipf tail of `n_tail` made-up words."""
        rng = np.random.default_rng([seed, 1])
        tail = _pseudo_words(rng, n_tail)
        words = list(dict.fromkeys(_COMMON + _NEWS + _TOPIC + tail))
        weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05  # Zipf, as word counts in news text
        names = [w.capitalize() for w in _pseudo_words(rng, 3000)]
        topic = list(dict.fromkeys(_TOPIC + _NEWS[:20] + _COMMON[:60]))
        return cls._make(words, weights, topic, 1.0 / np.arange(1, len(topic) + 1) ** 0.8, names, "builtin")

    @classmethod
    def from_texts(cls, texts: list[str], source: str) -> Vocabulary:
        """Word frequencies of `texts`; capitalised words mid-sentence become names."""
        counts: Counter[str] = Counter()
        names: Counter[str] = Counter()
        for text in texts:
            tokens = _TOKEN.findall(text)
            counts.update(t.lower() if t[:1].isupper() else t for t in tokens)
            names.update(t for t in tokens[1:] if t[:1].isupper() and t[1:].islower() and len(t) > 3)
        words = sorted(counts, key=lambda w: (-counts[w], w))
        weights = np.array([counts[w] for w in words], dtype=float)
        topic = [w for w in _TOPIC if w in counts] or _TOPIC
        name_list = sorted(names, key=lambda w: (-names[w], w))[:5000] or ["Smith"]
        topic_weights = np.array([counts.get(w, 1) for w in topic], dtype=float)
        return cls._make(words, weights, topic, topic_weights, name_list, source)

    @classmethod
    def auto(cls, shared: Path | None = None) -> Vocabulary:
        """The shared corpora's words when they are present, else the built-in vocabulary."""
        if shared is None:
            from pipeline import config

            shared = config.shared_dir()
        files = sorted(shared.glob("corpus/*/*.txt")) + sorted(shared.glob("seeds/*.txt"))
        if not files:
            return cls.builtin()
        texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
        return cls.from_texts(texts, f"shared:{len(files)}")

    @staticmethod
    def _make(words, weights, topic, topic_weights, names, source) -> Vocabulary:
        def cumulative(w: np.ndarray) -> np.ndarray:
            c = np.cumsum(np.asarray(w, dtype=float))
            return c / c[-1]

        return Vocabulary(
            words=np.array(words, dtype=object),
            cum=cumulative(weights),
            topic_words=np.array(topic, dtype=object),
            topic_cum=cumulative(topic_weights),
            names=np.array(names, dtype=object),
            source=source,
        )


def _pseudo_words(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct pronounceable made-up words (2 to 4 syllables)."""
    onsets = np.array([*"bcdfghjklmnprstvwz", "br", "ch", "kr", "ph", "sh", "st", "th", "tr"])
    vowels = np.array(["a", "e", "i", "o", "u", "ai", "ea", "ou", "ie"])
    codas = np.array(["", "", "", "n", "m", "r", "s", "t", "ng", "l"])
    seen: dict[str, None] = {}
    while len(seen) < n:
        k = n - len(seen)
        size = rng.integers(2, 5, size=k)
        parts = [
            onsets[rng.integers(len(onsets), size=(k, 4))],
            vowels[rng.integers(len(vowels), size=(k, 4))],
        ]
        end = codas[rng.integers(len(codas), size=k)]
        for i in range(k):
            seen.setdefault("".join(parts[0][i, j] + parts[1][i, j] for j in range(size[i])) + end[i])
    return list(seen)[:n]


# --- sites and stories -------------------------------------------------------------------------


@dataclass
class Site:
    """The boilerplate a site puts on every page, and its habits."""

    name: str
    domain: str
    menu: list[str]
    footer: list[str]
    related: str
    caption_credit: bool
    comments: float  # probability that an article page shows reader comments
    recent: list[Story] = field(default_factory=list)  # the site's latest stories, for teasers


@dataclass(frozen=True)
class Story:
    headline: str
    standfirst: str
    paragraphs: tuple[str, ...]
    captions: tuple[str, ...]
    slug: str


class _Writer:
    """Random text from a vocabulary, drawing words in blocks (one numpy call per few pages)."""

    BLOCK = 8192

    def __init__(self, vocab: Vocabulary, rng: np.random.Generator):
        self.vocab, self.rng = vocab, rng
        self._buf: np.ndarray = np.empty(0, dtype=object)
        self._at = 0
        self._uniforms: list[float] = []  # scalar draws, also in blocks (a numpy call costs µs)

    def words(self, n: int) -> list[str]:
        if self._at + n > len(self._buf):
            draw = self.rng.random(max(self.BLOCK, n))
            self._buf = self.vocab.words[np.searchsorted(self.vocab.cum, draw, side="right")]
            self._at = 0
        out = self._buf[self._at : self._at + n].tolist()
        self._at += n
        return out

    def uniform(self) -> float:
        if not self._uniforms:
            self._uniforms = self.rng.random(self.BLOCK).tolist()
        return self._uniforms.pop()

    def int(self, low: int, high: int) -> int:
        """An integer in [low, high)."""
        return low + int(self.uniform() * (high - low))

    def chance(self, p: float) -> bool:
        return self.uniform() < p

    def pick(self, items):
        return items[int(self.uniform() * len(items))]

    def name(self) -> str:
        return f"{self.pick(self.vocab.names)} {self.pick(self.vocab.names)}"

    def sentence(self, low: int = 8, high: int = 30, topic: bool = False) -> str:
        words = self.words(self.int(low, high))
        if topic:  # sprinkle on-topic words so that the topic model sees both classes
            for _ in range(max(1, len(words) // 6)):
                j = np.searchsorted(self.vocab.topic_cum, self.uniform(), side="right")
                words[self.int(0, len(words))] = self.vocab.topic_words[j]
        words[0] = words[0][:1].upper() + words[0][1:]
        if len(words) > 6 and self.chance(0.5):
            words[self.int(1, len(words))] = self.pick(self.vocab.names)
        if len(words) > 8 and self.chance(0.3):
            words[self.int(2, len(words) - 2)] += ","
        return " ".join(words) + "."

    def paragraph(self, low: int = 1, high: int = 5, topic: bool = False) -> str:
        return " ".join(self.sentence(topic=topic) for _ in range(self.int(low, high)))

    def headline(self, topic: bool = False) -> str:
        words = self.words(self.int(5, 13))
        if topic:
            words[self.int(0, len(words))] = self.pick(self.vocab.topic_words)
        return " ".join(
            w[:1].upper() + w[1:] if i == 0 or self.chance(0.3) else w for i, w in enumerate(words)
        )

    def date(self) -> str:
        day, month, year = self.int(1, 29), self.int(1, 13), self.int(2012, 2025)
        styles = (
            f"{day:02d}/{month:02d}/{year}",
            f"{year}-{month:02d}-{day:02d}",
            f"{_MONTHS[month - 1]} {day}, {year}",
            f"Updated: {self.int(1, 13)}:{self.int(0, 60):02d}pm, {day} {_MONTHS[month - 1][:3]}, {year}",
        )
        return self.pick(styles)

    def story(self, topic: bool, teaser_only: bool = False) -> Story:
        headline = self.headline(topic)
        standfirst = self.sentence(15, 40, topic)
        n_paragraphs = 0 if teaser_only else self.int(3, 32)
        paragraphs = tuple(self.paragraph(topic=topic and self.chance(0.8)) for _ in range(n_paragraphs))
        captions = tuple(self.sentence(6, 20, topic) for _ in range(self.int(0, 4)))
        slug = "-".join(w.strip(".,'’").lower() for w in headline.split()[:8])
        return Story(headline, standfirst, paragraphs, captions, slug)

    def site(self) -> Site:
        name = " ".join(w.capitalize() for w in self.words(self.int(1, 3)))
        menu = [self.pick(_SECTIONS) for _ in range(self.int(8, 35))]
        menu += [
            " ".join(w.capitalize() for w in self.words(self.int(1, 3))) for _ in range(self.int(15, 80))
        ]
        footer = [f"© {self.int(2015, 2025)} {name}. All rights reserved."]
        footer += [self.pick(_FOOTER) for _ in range(self.int(4, 12))]
        footer += [
            " ".join(w.capitalize() for w in self.words(self.int(1, 4))) for _ in range(self.int(4, 20))
        ]
        footer += [self.sentence(8, 25) for _ in range(self.int(0, 3))]
        return Site(
            name=name,
            domain="".join(c for c in name.lower() if c.isalnum())[:20] + ".example",
            menu=menu,
            footer=footer,
            related=self.pick(_RELATED),
            caption_credit=self.chance(0.6),
            comments=float(self.rng.choice([0.0, 0.1, 0.4])),
        )


_MONTHS = _wordlist("January February March April May June July August September October November December")


# --- pages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenPage:
    doc_id: str
    url: str
    text: str


_SITES_CACHE: dict[tuple[int, int], list[Site]] = {}


def _sites(vocab: Vocabulary, seed: int) -> list[Site]:
    """The `N_SITES` sites of a seed (made once per process: they are the same for every shard)."""
    key = (id(vocab), seed)
    if key not in _SITES_CACHE:
        writer = _Writer(vocab, np.random.default_rng([seed, 7, 0]))
        _SITES_CACHE.clear()
        _SITES_CACHE[key] = [writer.site() for _ in range(N_SITES)]
    return _SITES_CACHE[key]


class _ShardMaker:
    """Makes the pages of one shard, keeping its earlier pages and stories for repeats."""

    P_LISTING, P_REPUBLISH, P_MIRROR, P_TOPIC = 0.07, 0.07, 0.04, 0.35

    def __init__(self, vocab: Vocabulary, seed: int, shard: int):
        # the same sites in every shard, each with its own list of recent stories
        self.sites = [replace(site, recent=[]) for site in _sites(vocab, seed)]
        # popular sites get more pages (Zipf over sites)
        weights = 1.0 / np.arange(1, N_SITES + 1)
        self.site_cum = np.cumsum(weights) / weights.sum()
        self.w = _Writer(vocab, np.random.default_rng([seed, 7, shard + 1]))
        self.shard = shard
        self.stories: list[Story] = []
        self.pages: list[str] = []

    def page(self, index: int) -> GenPage:
        w = self.w
        site = self.sites[int(np.searchsorted(self.site_cum, w.uniform(), side="right"))]
        draw = w.uniform()
        if draw < self.P_MIRROR and self.pages:
            text = self._mirror(w.pick(self.pages))
            slug = "mirror"
        elif draw < self.P_MIRROR + self.P_LISTING:
            text, slug = self._listing(site), "tag"
        else:
            if draw < self.P_MIRROR + self.P_LISTING + self.P_REPUBLISH and self.stories:
                story = self._republish(w.pick(self.stories))
            else:
                story = w.story(topic=w.chance(self.P_TOPIC))
                self.stories.append(story)
            text, slug = self._article(site, story), story.slug
            site.recent.insert(0, story)
            del site.recent[12:]
        self.pages.append(text)
        doc_id = f"p{index:07d}"
        return GenPage(doc_id, f"https://{site.domain}/{slug}-{doc_id}.html", text)

    # every block is a list of lines; "" is a blank line, as html-text squeezes them

    def _article(self, site: Site, story: Story) -> str:
        w = self.w
        blocks = [[f"{story.headline} - {site.name}"], *self._chrome(site)]
        blocks.append(["You are at:", "Home", w.pick(_SECTIONS), story.headline])
        head = [story.headline, story.standfirst] if w.chance(0.6) else [story.headline]
        byline = [f"By {w.name()}", w.date()] if w.chance(0.8) else [w.date()]
        blocks += [head, byline]
        body: list[str] = []
        captions = list(story.captions)
        if captions:  # the lead photo's caption, scraped twice (alt text and figcaption)
            lead = captions.pop(0) + (f" (Photo: {w.pick(self._credits)})" if site.caption_credit else "")
            body += [lead, lead] if w.chance(0.5) else [lead]
        for i, para in enumerate(story.paragraphs):
            if i == 0 and w.chance(0.4):  # the standfirst repeated as the first paragraph
                para = f"{story.standfirst} {para}"
            body.append(para)
            if captions and w.chance(0.25):
                body.append(captions.pop(0))
            if w.chance(0.05):
                body.append(f"Read: {w.pick(site.recent).headline}" if site.recent else w.headline())
        blocks.append(body)
        blocks.append([w.pick(_SHARE) for _ in range(w.int(0, 6))])
        blocks.append(["Tags: " + ", ".join(w.pick(_SECTIONS) for _ in range(w.int(1, 6)))])
        blocks.append(self._teasers(site, w.int(3, 14), site.related))
        if w.chance(site.comments):
            blocks.append(self._comments())
        blocks.append(self._teasers(site, w.int(0, 10), w.pick(_RELATED)))
        blocks += self._footer(site)
        return _render(blocks, w)

    def _listing(self, site: Site) -> str:
        w = self.w
        tag = w.pick(_SECTIONS)
        blocks = [[f"{tag} - {site.name}"], *self._chrome(site), [tag, f"Articles tagged {tag.lower()}"]]
        for _ in range(w.int(8, 22)):
            blocks.append(self._teaser(site, with_meta=True))
        blocks.append(["Load more", "Page 1 of " + str(w.int(2, 40))])
        blocks += self._footer(site)
        return _render(blocks, w)

    def _footer(self, site: Site) -> list[list[str]]:
        """The footer, often after a second copy of part of the menu (desktop and mobile menus)."""
        w = self.w
        if not w.chance(0.6):
            return [site.footer]
        start = w.int(0, max(1, len(site.menu) // 2))
        return [site.menu[start : start + w.int(10, 40)], site.footer]

    def _chrome(self, site: Site) -> list[list[str]]:
        """Menus: the site's whole menu, cut into a few groups, then a breaking-news bar."""
        w = self.w
        cuts = sorted(w.rng.integers(0, len(site.menu), size=w.int(1, 6)).tolist())
        groups = [site.menu[a:b] for a, b in zip([0, *cuts], [*cuts, len(site.menu)], strict=True)]
        blocks = [g for g in groups if g]
        if w.chance(0.3):
            blocks.append(["BREAKING", f"{w.headline()} - Read More »»"])
        return blocks

    def _teaser(self, site: Site, with_meta: bool = False) -> list[str]:
        w = self.w
        story = (
            w.pick(site.recent) if site.recent and w.chance(0.6) else w.story(w.chance(0.2), teaser_only=True)
        )
        lines = [story.headline]
        if w.chance(0.8):
            lines.append(story.standfirst[: w.int(80, 260)] + (" ..." if w.chance(0.5) else ""))
        if story.captions and w.chance(0.3):
            lines.append(story.captions[0])
        if with_meta:
            lines += [w.name(), f"https://{site.domain}/{story.slug}/"]
        elif w.chance(0.3):
            lines.append(w.date())
        return lines

    def _teasers(self, site: Site, n: int, header: str) -> list[str]:
        if n == 0:
            return []
        return [header] + [line for _ in range(n) for line in self._teaser(site)]

    def _comments(self) -> list[str]:
        w = self.w
        lines = [f"{w.int(1, 40)} Comments"]
        for _ in range(w.int(1, 8)):
            lines += [f"{w.name()} said...", w.paragraph(1, 3), "Reply"]
        return lines

    def _republish(self, story: Story) -> Story:
        """The same story on another site: a dateline added, a paragraph dropped or not."""
        w = self.w
        paragraphs = list(story.paragraphs)
        if len(paragraphs) > 3 and w.chance(0.5):
            del paragraphs[w.int(1, len(paragraphs))]
        paragraphs[0] = f"{w.pick(self.w.vocab.names).upper()} ({w.pick(self._credits)}) – {paragraphs[0]}"
        return Story(story.headline, story.standfirst, tuple(paragraphs), story.captions, story.slug)

    def _mirror(self, page: str) -> str:
        """A spam copy: a disclaimer on top, junk symbols inside words, some lines dropped."""
        w = self.w
        lines = page.splitlines()
        keep = w.rng.random(len(lines)) > 0.1
        out = [f"This page was copied by {w.name()}. We are not responsible for its content.", ""]
        for line, kept in zip(lines, keep, strict=True):
            if kept:
                out.append(self._junk(line) if len(line) > 40 and w.chance(0.3) else line)
        return "\n".join(out) + "\n"

    def _junk(self, line: str) -> str:
        w = self.w
        chars = list(line)
        for i in w.rng.integers(len(chars), size=w.int(1, 5)):
            chars[i] = chars[i] + w.pick(_JUNK_SYMBOLS)
        return "".join(chars)

    _credits = ("AFP", "Reuters", "AP", "VNA", "Xinhua", "File photo", "Staff", "Handout")


def _render(blocks: list[list[str]], w: _Writer) -> str:
    """Blocks joined by blank lines; lines within a block separated by blank lines at times."""
    out: list[str] = []
    for block in blocks:
        if not block:
            continue
        gaps = w.rng.random(len(block)) < 0.45
        for line, gap in zip(block, gaps, strict=True):
            out.append(line)
            if gap:
                out.append("")
        out.append("")
    return "\n".join(out)


def shard_pages(vocab: Vocabulary, seed: int, shard: int, n: int = SHARD_PAGES) -> Iterator[GenPage]:
    """The first `n` pages of shard `shard` (page ids continue across shards)."""
    maker = _ShardMaker(vocab, seed, shard)
    for i in range(n):
        yield maker.page(shard * SHARD_PAGES + i)


def generate(n_pages: int, seed: int = 0, vocab: Vocabulary | None = None) -> Iterator[GenPage]:
    """`n_pages` pages in id order (the first k of them do not depend on `n_pages`)."""
    vocab = vocab or Vocabulary.auto()
    for shard in range(-(-n_pages // SHARD_PAGES)):
        yield from shard_pages(vocab, seed, shard, min(SHARD_PAGES, n_pages - shard * SHARD_PAGES))


# --- writing -----------------------------------------------------------------------------------


def write_pages(
    out: str | Path,
    n_pages: int,
    seed: int = 0,
    fmt: str = "auto",
    jobs: int = 1,
    vocab: Vocabulary | None = None,
    replace_stale: bool = False,
) -> dict:
    """Write `n_pages` pages under `out` and a ``manifest.json``; returns the manifest.

    An existing folder whose manifest matches (same pages, seed, format, vocabulary and generator
    version) is kept as is, so repeated benchmark runs reuse their data. One whose manifest differs
    is an error, or with `replace_stale` removed and written anew (only a folder this function
    wrote, recognised by its manifest, is ever removed).
    """
    out = Path(out)
    vocab = vocab or Vocabulary.auto()
    if fmt == "auto":
        fmt = "txt" if n_pages <= TXT_MAX_PAGES else "jsonl.gz"
    if fmt not in ("txt", "jsonl.gz"):
        raise ValueError(f"unknown format {fmt!r}")
    manifest = {
        "pages": n_pages,
        "seed": seed,
        "format": fmt,
        "vocabulary": vocab.source,
        "generator_version": GENERATOR_VERSION,
        "shard_pages": SHARD_PAGES,
    }
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if {k: old.get(k) for k in manifest} == manifest:
            return old
        if not replace_stale:
            raise FileExistsError(f"{out} holds other generated pages ({old}); remove it first")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [
        (vocab, seed, s, min(SHARD_PAGES, n_pages - s * SHARD_PAGES), out, fmt)
        for s in range(-(-n_pages // SHARD_PAGES))
    ]
    if jobs > 1 and len(tasks) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            sizes = pool.starmap(_write_shard, tasks, chunksize=1)
    else:
        sizes = [_write_shard(*task) for task in tasks]
    manifest["bytes"] = int(sum(s[0] for s in sizes))
    manifest["lines"] = int(sum(s[1] for s in sizes))
    manifest["non_empty_lines"] = int(sum(s[2] for s in sizes))
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _write_shard(vocab: Vocabulary, seed: int, shard: int, n: int, out: Path, fmt: str) -> tuple[int, ...]:
    """Write one shard; returns (text bytes, lines, non-empty lines)."""
    n_bytes = n_lines = n_full = 0
    name = f"shard-{shard:05d}"
    if fmt == "txt":
        folder = out / name
        folder.mkdir(exist_ok=True)
    else:
        # mtime=0 and no file name in the header: byte-identical files for the same pages
        raw = open(out / f"{name}.jsonl.gz", "wb")  # noqa: SIM115 (closed below, after the gzip stream)
        stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0)
    try:
        for page in shard_pages(vocab, seed, shard, n):
            data = page.text.encode("utf-8")
            n_bytes += len(data)
            lines = page.text.splitlines()
            n_lines += len(lines)
            n_full += sum(1 for line in lines if line.strip())
            if fmt == "txt":
                (folder / f"{page.doc_id}.txt").write_bytes(data)
            else:
                record = {"id": page.doc_id, "url": page.url, "text": page.text}
                stream.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    finally:
        if fmt != "txt":
            stream.close()
            raw.close()
    return n_bytes, n_lines, n_full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.pagegen", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out", help="output folder")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", default="auto", choices=["auto", "txt", "jsonl.gz"])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--builtin-vocab", action="store_true", help="ignore the shared corpora")
    args = parser.parse_args(argv)
    vocab = Vocabulary.builtin() if args.builtin_vocab else None
    manifest = write_pages(args.out, args.pages, args.seed, args.format, args.jobs, vocab)
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
