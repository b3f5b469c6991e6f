"""One synthetic user's events and the draws behind them, for :mod:`rsad.data.synth`'s personas.

``SynthUser`` keeps a user's events as arrays (times in seconds since the window start) and draws
sessions, event times, catalogue items and texts from the user's own seeded Generator. The text
vocabulary (reviews, praise) is here too: genuine and fake reviews share it on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from numpy.typing import ArrayLike

CATALOGUE, DAY, HORIZON_DAYS = 4000, 86400.0, 30
BROWSE = {  # (actions, weights) of ordinary browsing per vertical
    "e-commerce": (("view", "search", "cart", "order", "like", "click"), (60, 14, 10, 5, 3, 8)),
    "video": (("play", "view", "like", "search", "share", "click"), (55, 20, 10, 6, 4, 5)),
    "social": (("view", "like", "follow", "share", "comment", "click"), (50, 28, 6, 6, 5, 5)),
    "games": (("play", "view", "login", "order", "like", "click"), (50, 20, 18, 4, 4, 4)),
    "music": (("play", "like", "search", "follow", "share"), (70, 12, 10, 4, 4)),
}

ASPECTS = {
    "e-commerce": ("battery", "zipper", "fabric", "screen", "strap", "lid", "charging cable", "sole", "handle",
                   "packaging", "stitching", "sizing"),
    "video": ("pacing", "soundtrack", "ending", "second episode", "lead actor", "subtitles", "dialogue", "camera work"),
    "games": ("controls", "boss fight", "matchmaking", "story", "loading times", "graphics", "tutorial", "crafting"),
    "music": ("vocals", "bridge", "mixing", "bass line", "lyrics", "opening track", "production", "chorus"),
}
ISSUES = ("started to wear after {n} weeks", "is a bit flimsy", "took {n} days to show up", "could be better",
          "feels rushed", "drags in part {n}", "was off in chapter {n}", "needs a patch", "is too quiet",
          "broke on day {n}", "is not as pictured")
GOOD = ("is excellent", "is great", "works well", "is really solid", "is perfect", "exceeded expectations")
GENERIC = ("great product, highly recommend", "amazing quality, five stars", "best purchase ever, will buy again",
           "excellent, exactly as described", "love it, fast delivery", "very good value for money", "perfect, 好评",
           "super happy with this, recommend to everyone", "top quality and great seller", "works great, thank you",
           "good good very good", "nice, 五星好评")
FORMS = {"genuine": ("the {a} {g}, the {b} {i} though", "the {a} {g} and the {b} {g2}, only the {b} {i}",
                     "{g0}. the {a} {g}"), "fake": ("the {a} {g} and the {b} {g2}, recommend", "{g0}. the {a} {g}",
                                                    "the {a} {g}, the {b} {g2} too"),
         "mixed": ("mixed feelings: the {a} is fine but the {b} {i}",),
         "bad": ("disappointed, the {b} {i} and the {a} is not great either",)}
URLS = ("bit.ly/3x{n}k", "www.promo-deals{n}.xyz", "t.me/freegift{n}", "http://win-now{n}.info", "tinyurl.com/a{n}b")


class SynthUser:
    """One user's events as arrays (times in seconds since the window start) and their draws."""

    def __init__(self, rng: np.random.Generator, vertical: str, cdf: np.ndarray, slow: bool) -> None:
        self.rng, self.vertical, self.cdf, self.slow = rng, vertical, cdf, slow
        self.night = 0.4 if rng.random() < 0.2 else 0.05  # night owls exist in every persona
        self.ip_pool: list[str] | None = None  # shared addresses (farm, data centre) instead of home ones
        self.parts: list[tuple] = []

    def items(self, n: int) -> np.ndarray:
        """Catalogue item numbers drawn by (Zipf-like) popularity."""
        return np.searchsorted(self.cdf, self.rng.random(n))

    def add(self, t: ArrayLike, actions: ArrayLike, items: ArrayLike, ratings: ArrayLike | None = None,
            texts: Iterable[str] | None = None) -> None:
        """Append events (times, actions, item numbers[, ratings][, texts])."""
        n = len(t)
        self.parts.append((np.asarray(t, float), np.asarray(actions), np.asarray(items),
                           np.full(n, np.nan) if ratings is None else np.asarray(ratings, float),
                           [""] * n if texts is None else list(texts)))

    def starts(self, k: int, night: float | None = None) -> np.ndarray:
        """Session starts: evening-heavy day profile, a share of them at night (00:00-05:59)."""
        rng, night = self.rng, self.night if night is None else night
        hour = np.where(rng.random(k) < night, rng.uniform(0, 6, k), np.clip(rng.normal(17, 4, k), 6, 23.9))
        return np.sort(rng.integers(0, HORIZON_DAYS, k) * DAY + hour * 3600)

    def times(self, start: np.ndarray, sizes: np.ndarray, median: float, sigma: float) -> np.ndarray:
        """Event times of sessions from ``start`` with ``sizes`` events and log-normal gaps."""
        g = median * np.exp(sigma * self.rng.standard_normal(int(sizes.sum())))  # small sigma: regular
        c = np.cumsum(g)
        first = np.cumsum(sizes) - sizes
        return np.repeat(start - (c[first] - g[first]), sizes) + c

    def browse(self, k: int, lo: int, hi: int, median: float = 40.0, sigma: float = 1.0, mix: tuple | None = None,
               night: float | None = None,
               items: Callable[[int], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """k sessions of lo..hi-1 actions from an (actions, weights) mix; returns (times, sizes)."""
        acts, w = mix or BROWSE[self.vertical]
        sizes = self.rng.integers(lo, hi, k)
        t = self.times(self.starts(k, night), sizes, median, sigma)
        drawn = np.asarray(acts)[np.searchsorted(np.cumsum(w), self.rng.random(len(t)) * sum(w), "right")]
        self.add(t, drawn, self.items(len(t)) if items is None else items(len(t)))
        return t, sizes

    def text(self, options: tuple[str, ...]) -> str:
        """One template filled with small random numbers and a random short link."""
        rng, template = self.rng, options[self.rng.integers(len(options))]
        if "{" not in template:  # most templates: skip the draws below
            return template
        url = URLS[rng.integers(len(URLS))].format(n=rng.integers(10, 99)) if "{u}" in template else ""
        return template.format(n=rng.integers(2, 9), s=rng.integers(0, 6), u=url)

    def review(self, kind: str) -> str:
        """A review from FORMS[kind] and the vertical's aspects: genuine and fake ones share vocabulary."""
        a, b, forms = *self.rng.choice(ASPECTS[self.vertical], 2, replace=False), FORMS[kind]
        return forms[self.rng.integers(len(forms))].format(
            a=a, b=b, i=self.text(ISSUES), g=self.text(GOOD), g2=self.text(GOOD), g0=self.text(GENERIC))

    def praise(self) -> str:
        """Templated praise, some of it imitating specific detail (slow accounts: half of it)."""
        return self.review("fake") if self.rng.random() < (0.5 if self.slow else 0.25) else self.text(GENERIC)

    def reviews(self, start: np.ndarray, ratings: np.ndarray, texts: list[str], first: str | None = None) -> None:
        """rate + review pairs at ``start``, optionally after an order/play some days earlier."""
        m, items = len(start), self.items(len(start))
        t = np.stack([start, start + self.rng.uniform(20, 300, m)], 1).ravel()
        self.add(t, ["rate", "review"] * m, np.repeat(items, 2), np.stack([ratings, np.full(m, np.nan)], 1).ravel(),
                 [x for txt in texts for x in ("", txt)])
        if first:
            self.add(start - self.rng.uniform(1, 10, m) * DAY, [first] * m, items)

