"""Deterministic synthetic platform event logs for the demo: normal users and abusive accounts.

Personas overlap on purpose (bursty sale-day shoppers and binge watchers, heavy buyers, five-star-only
genuine reviewers; low-and-slow abusive accounts) and label-independent noise is added,
so a text classifier on the descriptions cannot be perfect. Randomness: one seeded Generator per user.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rsad.data.describe import describe_events
from rsad.errors import InputError

ANOMALY_TYPES: tuple[str, ...] = ("click_farm", "shilling", "fake_review", "bot_crawler", "spam_comment")
NORMAL_TYPES: tuple[str, ...] = ("casual", "sale_day_shopper", "binge_watcher", "heavy_buyer", "reviewer", "commenter")
NORMAL_WEIGHTS = (0.34, 0.12, 0.14, 0.12, 0.14, 0.14)
VERTICALS: tuple[str, ...] = ("e-commerce", "video", "social", "games", "music")
SHOP, MEDIA, RATED = ("e-commerce",), ("social", "video", "music"), ("e-commerce", "video", "games", "music")
PERSONA_VERTICALS = {"casual": VERTICALS, "sale_day_shopper": SHOP, "binge_watcher": ("video", "music"),
                     "heavy_buyer": ("e-commerce", "games"), "reviewer": RATED, "commenter": MEDIA,
                     "click_farm": SHOP, "shilling": RATED, "fake_review": RATED, "bot_crawler": VERTICALS,
                     "spam_comment": MEDIA}
BROWSE = {  # (actions, weights) of ordinary browsing per vertical
    "e-commerce": (("view", "search", "cart", "order", "like", "click"), (60, 14, 10, 5, 3, 8)),
    "video": (("play", "view", "like", "search", "share", "click"), (55, 20, 10, 6, 4, 5)),
    "social": (("view", "like", "follow", "share", "comment", "click"), (50, 28, 6, 6, 5, 5)),
    "games": (("play", "view", "login", "order", "like", "click"), (50, 20, 18, 4, 4, 4)),
    "music": (("play", "like", "search", "follow", "share"), (70, 12, 10, 4, 4)),
}
ITEM_PREFIX = {"e-commerce": "p", "video": "v", "social": "s", "games": "g", "music": "m"}
DEVICE_KINDS = ("iphone", "android", "windows", "mac", "ipad", "tv")
CATALOGUE, DAY, HORIZON_DAYS = 4000, 86400.0, 30
SLOW_SHARE = 0.5  # abusive accounts that are low and slow: a little abuse among ordinary use
LABELED_USERS, LABELED_RATE, UNLABELED_USERS, UNLABELED_RATE = 2500, 0.37, 1000, 0.07

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
TALK = ("the part at {n}:{s}0 got me", "agree, the second half was slower", "does anyone know the song at the end?",
        "finally understood this, thanks for explaining", "my cat reacted the same way lol", "same", "this aged well",
        "watched it {n} times already", "check out the original version too, it is even better",
        "source for anyone asking: https://en.wikipedia.org/wiki/Topic_{n}", "made a cover, check out my channel",
        "longer cut here https://www.youtube.com/watch?v=q{n}x", "we play this live on friday, www.band{n}.com")
SPAM_LINK = ("check out my channel {u}", "free gift cards at {u}", "earn $300 a day from home, details {u}",
             "i made money with this app {u}", "cheap followers here {u}", "best deals today only {u}")
SPAM_PLAIN = ("follow me and i follow back!", "sub4sub anyone? check my profile", "dm me for cheap followers",
              "nice video! visit my page for more", "great content, check out my channel", "nice", "great content")
URLS = ("bit.ly/3x{n}k", "www.promo-deals{n}.xyz", "t.me/freegift{n}", "http://win-now{n}.info", "tinyurl.com/a{n}b")


class _User:
    """One user's events as arrays (times in seconds since the window start) and their draws."""

    def __init__(self, rng: np.random.Generator, vertical: str, cdf: np.ndarray, slow: bool) -> None:
        self.rng, self.vertical, self.cdf, self.slow = rng, vertical, cdf, slow
        self.night = 0.4 if rng.random() < 0.2 else 0.05  # night owls exist in every persona
        self.ip_pool: list[str] | None = None  # shared addresses (farm, data centre) instead of home ones
        self.parts: list[tuple] = []

    def items(self, n: int) -> np.ndarray:
        """Catalogue item numbers drawn by (Zipf-like) popularity."""
        return np.searchsorted(self.cdf, self.rng.random(n))

    def add(self, t, actions, items, ratings=None, texts=None) -> None:
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
               night: float | None = None, items=None) -> tuple[np.ndarray, np.ndarray]:
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


def casual(u: _User, ctx: dict) -> None:
    """A few short sessions (power browsers: many), sometimes star ratings, rarely a short review."""
    rng, power = u.rng, u.rng.random() < 0.15
    t, _ = u.browse(*((rng.integers(6, 15), 8, 30) if power else (rng.integers(2, 9), 2, 13)), rng.uniform(10, 60))
    if u.vertical != "social" and rng.random() < 0.3:
        m = rng.integers(1, 6)
        r = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], m, p=[0.08, 0.07, 0.15, 0.3, 0.4])
        u.add(rng.choice(t, m) + 60, ["rate"] * m, u.items(m), r)
        if rng.random() < 0.2:
            u.reviews(rng.choice(t, 1) + 90, r[:1], [u.text(GENERIC)])


def sale_day_shopper(u: _User, ctx: dict) -> None:
    """Casual use plus fast cart-and-order bursts on shared sale days, often right after midnight."""
    rng = u.rng
    casual(u, ctx)
    days = rng.choice(ctx["sale_days"], rng.integers(1, 3), replace=False)
    hour = np.where(rng.random(len(days)) < 0.6, rng.uniform(0, 0.5, len(days)), rng.uniform(19, 21))
    t = u.times(days * DAY + hour * 3600, rng.integers(15, 60, len(days)), rng.uniform(5, 12), 0.8)
    u.add(t, rng.choice(["view", "cart", "order", "search"], len(t), p=[0.5, 0.28, 0.15, 0.07]), u.items(len(t)))


def binge_watcher(u: _User, ctx: dict) -> None:
    """Long runs of plays one episode or track apart: regular gaps, often at night."""
    median = u.rng.uniform(1300, 2700) if u.vertical == "video" else u.rng.uniform(190, 250)
    mix = (("play", "like", "view", "share"), (85, 8, 5, 2))
    u.browse(u.rng.integers(3, 10), 8, 40, median, u.rng.uniform(0.08, 0.35), mix, max(u.night, 0.3))


def heavy_buyer(u: _User, ctx: dict) -> None:
    """Many short sessions ending in orders, often the same staple items again."""
    rng, fav = u.rng, u.items(u.rng.integers(3, 9))
    mix = (("search", "cart", "like"), (3, 2, 1)) if rng.random() < 0.3 else None  # re-orders from order history
    t, sizes = u.browse(rng.integers(10, 26), 1, 6, rng.uniform(10, 50), mix=mix)
    k = rng.integers(1, 4, len(sizes))
    tt, m = u.times(t[np.cumsum(sizes) - 1], 2 * k, 20, 0.7), int(k.sum())
    items = np.where(rng.random(m) < 0.6, fav[rng.integers(len(fav), size=m)], u.items(m))
    u.add(tt, np.tile(["cart", "order"], m), np.repeat(items, 2))


def reviewer(u: _User, ctx: dict) -> None:
    """Specific reviews after orders/plays; some give only five stars, some only come when e-mailed."""
    rng, m, prompted = u.rng, u.rng.integers(4, 15), u.rng.random() < 0.25  # "rate your purchases" e-mail
    if prompted:
        m = rng.integers(2, 7)
    else:
        casual(u, ctx)
    p = [0, 0, 0, 0.25, 0.75] if prompted else [0, 0, 0, 0, 1] if rng.random() < 0.25 else [0.07, 0.07, 0.14, 0.3, 0.42]
    r = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], m, p=p)
    texts = [u.text(GENERIC) if rng.random() < (0.6 if prompted else 0.4) else
             u.review("bad" if x < 3 else "mixed" if x == 3 else "genuine") for x in r]
    batch = prompted or rng.random() < 0.3  # several reviews in one sitting
    start = u.times(u.starts(1), np.array([m]), 100, 0.6) if batch else u.starts(m)
    u.reviews(start, r, texts, "order" if u.vertical == "e-commerce" else "play")


def commenter(u: _User, ctx: dict) -> None:
    """Casual use plus comments, sometimes several in a thread, a few with links or self-promotion."""
    rng, k = u.rng, u.rng.integers(3, 12) * (3 if u.rng.random() < 0.2 else 1)  # a few very active ones
    casual(u, ctx)
    t = u.times(u.starts(k), np.where(rng.random(k) < 0.3, rng.integers(3, 9, k), 1), 40, 0.8)
    u.add(t, ["comment"] * len(t), u.items(len(t)), texts=[u.text(TALK) for _ in t])


def click_farm(u: _User, ctx: dict) -> None:
    """Fake orders (刷单) of a few shared target items, often with five-star praise, on farm IPs."""
    rng, slow = u.rng, u.slow
    targets = rng.choice(ctx["farm_targets"], rng.integers(1, 4))
    acts = ["view", "cart", "order"] if slow or rng.random() < 0.4 else ["cart", "order"]
    k = rng.integers(1, 5) if slow else rng.integers(3, 11)
    per = np.ones(k, int) if slow else rng.integers(1, 4, k)
    t = u.times(u.starts(k, 0.1 if slow else 0.3), per * len(acts), 40 if slow else 12, 0.5)
    u.add(t, acts * int(per.sum()), np.repeat(rng.choice(targets, per.sum()), len(acts)))
    ends = t[np.cumsum(per * len(acts)) - 1][rng.random(k) < (0.3 if slow else 0.5)]
    u.reviews(ends + 30, np.full(len(ends), 5.0), [u.praise() for _ in ends])
    u.ip_pool = ctx["farm_ips"] if rng.random() < (0.3 if slow else 0.7) else None


def shilling(u: _User, ctx: dict) -> None:
    """Rating runs that push (5) or nuke (1) a shared target among filler ratings; slow: spread out."""
    rng, slow = u.rng, u.slow
    target, value = rng.choice(ctx["shill_targets"]), (5.0 if rng.random() < 0.7 else 1.0)
    k = 1 if slow else rng.integers(1, 4)
    t = u.times(u.starts(k, 0.2), rng.integers(2, 9, k) if slow else rng.integers(10, 40, k),
                4 * 3600 if slow else 8, 1.5 if slow else 0.6)
    items = u.items(len(t))
    items[rng.integers(0, len(t), rng.integers(1, 3))] = target
    random_attack = rng.random() < 0.4  # filler ratings: random, or near the item average
    filler = rng.integers(1, 6, len(t)) if random_attack else np.clip(np.round(rng.normal(3.7, 0.8, len(t))), 1, 5)
    u.add(t, ["rate"] * len(t), items, np.where(items == target, value, filler))


def fake_review(u: _User, ctx: dict) -> None:
    """Runs of five-star reviews with templated praise; slow: single reviews after an order."""
    rng, slow = u.rng, u.slow
    k = rng.integers(1, 6) if slow else rng.integers(1, 4)
    t = u.times(u.starts(k, 0.15), np.ones(k, int) if slow else rng.integers(3, 9, k), 90, 0.6)
    r = np.where(rng.random(len(t)) < (0.75 if slow else 0.95), 5.0, 4.0)
    u.reviews(t, r, [u.praise() for _ in t], "order" if slow or rng.random() < 0.3 else None)


def bot_crawler(u: _User, ctx: dict) -> None:
    """Fast, regular views round the clock over the whole catalogue; slow: randomised gaps."""
    rng, u.ip_pool = u.rng, ctx["dc_ips"] if u.rng.random() < 0.6 else None  # else home-like (proxy) addresses
    mix = (("play" if u.vertical in ("video", "music") and rng.random() < 0.5 else "view", "search", "click"),
           (75, 15, 10))
    if u.slow:  # randomised gaps, daytime, popular items
        u.browse(rng.integers(1, 5), 10, 50, rng.uniform(15, 60), 0.9, mix, 0.1)
    else:  # fast, regular, round the clock, walking the whole catalogue
        u.browse(rng.integers(1, 4), 50, 200, rng.uniform(3, 12), rng.uniform(0.05, 0.3), mix, 0.3,
                 lambda n: rng.integers(0, CATALOGUE, n))


def spam_comment(u: _User, ctx: dict) -> None:
    """Comment runs with links or 'check out my channel'; slow: few, spread out, some harmless."""
    rng, slow = u.rng, u.slow
    k = rng.integers(1, 6) if slow else rng.integers(1, 4)
    t = u.times(u.starts(k, 0.15), rng.integers(1, 3, k) if slow else rng.integers(6, 25, k), 60 if slow else 20, 0.6)
    link, plain = (0.25, 0.6) if slow else (0.5, 0.9)
    texts = [u.text(SPAM_LINK if d < link else SPAM_PLAIN if d < plain else TALK) for d in rng.random(len(t))]
    u.add(t, ["comment"] * len(t), u.items(len(t)), texts=texts)


PERSONAS = {f.__name__: f for f in (casual, sale_day_shopper, binge_watcher, heavy_buyer, reviewer, commenter,
                                    click_farm, shilling, fake_review, bot_crawler, spam_comment)}


def _ips(rng: np.random.Generator, k: int) -> list[str]:
    return [".".join(map(str, q)) for q in rng.integers(1, 255, (k, 4))]


def _finish(u: _User, ctx: dict) -> dict[str, np.ndarray]:
    """Add stray events (label-independent noise), sort, give each session a device and an IP."""
    rng, k = u.rng, u.rng.integers(1, 6) * (u.rng.random() < 0.5)
    u.add(rng.uniform(0, HORIZON_DAYS * DAY, k), rng.choice(["view", "login", "search", "like"], k), u.items(k))
    cols = [np.concatenate([p[j] for p in u.parts]) for j in range(4)]
    horizon = HORIZON_DAYS * DAY  # events drawn outside the window are mirrored into it
    cols[0] = horizon - np.abs(horizon - np.abs(cols[0]))
    order = np.argsort(cols[0], kind="stable")
    t = cols[0][order]
    session = np.concatenate([[0], np.cumsum(np.diff(t) > 1800)])
    n_dev = 1 + rng.poisson(0.4)
    devices = [f"{DEVICE_KINDS[a]}-{b:06x}" for a, b in zip(rng.integers(0, 6, n_dev), rng.integers(0, 16**6, n_dev))]
    ips = list(rng.choice(u.ip_pool, rng.integers(1, 6))) if u.ip_pool else _ips(rng, 1 + rng.poisson(0.6))
    if not u.ip_pool and rng.random() < 0.25:  # carrier NAT, campus, office: many unrelated users, one address
        ips[0] = ctx["cgnat_ips"][rng.integers(len(ctx["cgnat_ips"]))]
    k = session[-1] + 1  # one device and one IP per session, mostly the usual (first) one
    device, ip = (np.asarray(pool)[np.where(rng.random(k) < 0.75, 0, rng.integers(0, len(pool), k))][session]
                  for pool in (devices, ips))
    texts = np.array([x for p in u.parts for x in p[4]], dtype=object)[order]
    return {"t": t, "action": cols[1][order], "item": cols[2][order], "rating": cols[3][order],
            "text": texts, "device": device, "ip": ip}


def make_events(n_users: int, *, anomaly_rate: float, seed: int, start: str = "2026-10-01",
                id_prefix: str = "u") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, users) for ``n_users`` synthetic users over 30 days from ``start`` (UTC).

    events: user_id, timestamp (ISO string), action, item_id, rating (float or NaN), text (str or
    ""), device, ip. users: user_id, is_anomaly (0/1), persona, vertical. Exactly
    round(n_users * anomaly_rate) anomalies, spread evenly over ANOMALY_TYPES. Same arguments, same
    tables; ``id_prefix`` names the users (f"{id_prefix}00001") and also selects the random stream.
    """
    if n_users < 1 or not 0 <= anomaly_rate <= 1:
        raise InputError(f"make_events needs n_users >= 1 (got {n_users}) and anomaly_rate in [0, 1] (got "
                         f"{anomaly_rate}).")
    stream = int.from_bytes(id_prefix.encode()[:8] or b"\0", "little")
    root = np.random.default_rng([seed, stream])
    n_anom = round(n_users * anomaly_rate)
    normal = root.choice(NORMAL_TYPES, n_users - n_anom, p=NORMAL_WEIGHTS)
    personas = root.permutation(np.concatenate([np.resize(ANOMALY_TYPES, n_anom), normal]).astype(str))
    verticals = [str(root.choice(PERSONA_VERTICALS[p])) for p in personas]
    ctx = {"farm_targets": root.integers(200, CATALOGUE, 20), "shill_targets": root.integers(100, CATALOGUE, 16),
           "sale_days": [10, 20, 27], "farm_ips": _ips(root, 25), "dc_ips": _ips(root, 40), "cgnat_ips": _ips(root, 60)}
    pop = 1.0 / np.arange(1, CATALOGUE + 1) ** 1.05
    cdf = np.cumsum(pop) / pop.sum()
    parts = []
    for i, (persona, vertical) in enumerate(zip(personas, verticals)):
        rng = np.random.default_rng([seed, stream, i])
        u = _User(rng, vertical, cdf, slow=bool(rng.random() < SLOW_SHARE))
        if persona in ANOMALY_TYPES and u.slow:
            casual(u, ctx)  # abuse hidden among ordinary use
        PERSONAS[persona](u, ctx)
        parts.append(_finish(u, ctx))
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "item"}
    sizes = [len(p["t"]) for p in parts]
    ids = np.array([f"{id_prefix}{i:05d}" for i in range(1, n_users + 1)])
    base = pd.to_datetime(start, utc=True).tz_localize(None).to_datetime64().astype("datetime64[s]")
    names = {v: np.array([f"{p}{k}" for k in range(CATALOGUE)], dtype=object) for v, p in ITEM_PREFIX.items()}
    item_ids = np.concatenate([names[v][p["item"]] for v, p in zip(verticals, parts)])
    ev = pd.DataFrame({"user_id": np.repeat(ids, sizes), "timestamp": np.datetime_as_string(
        base + cat["t"].astype("int64").astype("timedelta64[s]")), "action": cat["action"],
        "item_id": item_ids, "rating": cat["rating"], "text": cat["text"],
        "device": cat["device"], "ip": cat["ip"]}, dtype=object)
    ev = ev.astype({c: str for c in ev.columns if c != "rating"} | {"rating": float})
    users = pd.DataFrame({"user_id": ids, "is_anomaly": np.isin(personas, ANOMALY_TYPES).astype(int),
                          "persona": personas, "vertical": verticals})
    return ev, users


def make_demo_tables(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labeled, unlabeled) behavior-description tables for the demo.

    labeled: 2,500 users (37% anomalies of every type) with is_anomaly, persona and vertical;
    unlabeled: 1,000 users (7% anomalies) without any of those columns. Ids start with 'u' and 'n'.
    """
    tables = []
    for n, rate, prefix in ((LABELED_USERS, LABELED_RATE, "u"), (UNLABELED_USERS, UNLABELED_RATE, "n")):
        events, users = make_events(n, anomaly_rate=rate, seed=seed, id_prefix=prefix)
        tables.append(describe_events(events).merge(users, on="user_id", how="left", validate="1:1"))
    return tables[0], tables[1].drop(columns=["is_anomaly", "persona", "vertical"])
