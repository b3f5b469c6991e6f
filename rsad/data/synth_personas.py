"""The synthetic personas: how each kind of normal user and abusive account draws its events.

Each persona is a function ``(user, ctx)`` that adds events to a :class:`SynthUser`; ``ctx`` holds
what users share (sale days, target items, farm and data-centre addresses). Normal users first,
then the abusive accounts, whose "slow" variants hide a little abuse among ordinary use.
"""

from __future__ import annotations

import numpy as np

from rsad.data.synth_user import CATALOGUE, DAY, GENERIC, SynthUser

TALK = ("the part at {n}:{s}0 got me", "agree, the second half was slower", "does anyone know the song at the end?",
        "finally understood this, thanks for explaining", "my cat reacted the same way lol", "same", "this aged well",
        "watched it {n} times already", "check out the original version too, it is even better",
        "source for anyone asking: https://en.wikipedia.org/wiki/Topic_{n}", "made a cover, check out my channel",
        "longer cut here https://www.youtube.com/watch?v=q{n}x", "we play this live on friday, www.band{n}.com")
SPAM_LINK = ("check out my channel {u}", "free gift cards at {u}", "earn $300 a day from home, details {u}",
             "i made money with this app {u}", "cheap followers here {u}", "best deals today only {u}")
SPAM_PLAIN = ("follow me and i follow back!", "sub4sub anyone? check my profile", "dm me for cheap followers",
              "nice video! visit my page for more", "great content, check out my channel", "nice", "great content")


def casual(u: SynthUser, ctx: dict) -> None:
    """A few short sessions (power browsers: many), sometimes star ratings, rarely a short review."""
    rng, power = u.rng, u.rng.random() < 0.15
    t, _ = u.browse(*((rng.integers(6, 15), 8, 30) if power else (rng.integers(2, 9), 2, 13)), rng.uniform(10, 60))
    if u.vertical != "social" and rng.random() < 0.3:
        m = rng.integers(1, 6)
        r = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], m, p=[0.08, 0.07, 0.15, 0.3, 0.4])
        u.add(rng.choice(t, m) + 60, ["rate"] * m, u.items(m), r)
        if rng.random() < 0.2:
            u.reviews(rng.choice(t, 1) + 90, r[:1], [u.text(GENERIC)])


def sale_day_shopper(u: SynthUser, ctx: dict) -> None:
    """Casual use plus fast cart-and-order bursts on shared sale days, often right after midnight."""
    rng = u.rng
    casual(u, ctx)
    days = rng.choice(ctx["sale_days"], rng.integers(1, 3), replace=False)
    hour = np.where(rng.random(len(days)) < 0.6, rng.uniform(0, 0.5, len(days)), rng.uniform(19, 21))
    t = u.times(days * DAY + hour * 3600, rng.integers(15, 60, len(days)), rng.uniform(5, 12), 0.8)
    u.add(t, rng.choice(["view", "cart", "order", "search"], len(t), p=[0.5, 0.28, 0.15, 0.07]), u.items(len(t)))


def binge_watcher(u: SynthUser, ctx: dict) -> None:
    """Long runs of plays one episode or track apart: regular gaps, often at night."""
    median = u.rng.uniform(1300, 2700) if u.vertical == "video" else u.rng.uniform(190, 250)
    mix = (("play", "like", "view", "share"), (85, 8, 5, 2))
    u.browse(u.rng.integers(3, 10), 8, 40, median, u.rng.uniform(0.08, 0.35), mix, max(u.night, 0.3))


def heavy_buyer(u: SynthUser, ctx: dict) -> None:
    """Many short sessions ending in orders, often the same staple items again."""
    rng, fav = u.rng, u.items(u.rng.integers(3, 9))
    mix = (("search", "cart", "like"), (3, 2, 1)) if rng.random() < 0.3 else None  # re-orders from order history
    t, sizes = u.browse(rng.integers(10, 26), 1, 6, rng.uniform(10, 50), mix=mix)
    k = rng.integers(1, 4, len(sizes))
    tt, m = u.times(t[np.cumsum(sizes) - 1], 2 * k, 20, 0.7), int(k.sum())
    items = np.where(rng.random(m) < 0.6, fav[rng.integers(len(fav), size=m)], u.items(m))
    u.add(tt, np.tile(["cart", "order"], m), np.repeat(items, 2))


def reviewer(u: SynthUser, ctx: dict) -> None:
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


def commenter(u: SynthUser, ctx: dict) -> None:
    """Casual use plus comments, sometimes several in a thread, a few with links or self-promotion."""
    rng, k = u.rng, u.rng.integers(3, 12) * (3 if u.rng.random() < 0.2 else 1)  # a few very active ones
    casual(u, ctx)
    t = u.times(u.starts(k), np.where(rng.random(k) < 0.3, rng.integers(3, 9, k), 1), 40, 0.8)
    u.add(t, ["comment"] * len(t), u.items(len(t)), texts=[u.text(TALK) for _ in t])


def click_farm(u: SynthUser, ctx: dict) -> None:
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


def shilling(u: SynthUser, ctx: dict) -> None:
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


def fake_review(u: SynthUser, ctx: dict) -> None:
    """Runs of five-star reviews with templated praise; slow: single reviews after an order."""
    rng, slow = u.rng, u.slow
    k = rng.integers(1, 6) if slow else rng.integers(1, 4)
    t = u.times(u.starts(k, 0.15), np.ones(k, int) if slow else rng.integers(3, 9, k), 90, 0.6)
    r = np.where(rng.random(len(t)) < (0.75 if slow else 0.95), 5.0, 4.0)
    u.reviews(t, r, [u.praise() for _ in t], "order" if slow or rng.random() < 0.3 else None)


def bot_crawler(u: SynthUser, ctx: dict) -> None:
    """Fast, regular views round the clock over the whole catalogue; slow: randomised gaps."""
    rng, u.ip_pool = u.rng, ctx["dc_ips"] if u.rng.random() < 0.6 else None  # else home-like (proxy) addresses
    mix = (("play" if u.vertical in ("video", "music") and rng.random() < 0.5 else "view", "search", "click"),
           (75, 15, 10))
    if u.slow:  # randomised gaps, daytime, popular items
        u.browse(rng.integers(1, 5), 10, 50, rng.uniform(15, 60), 0.9, mix, 0.1)
    else:  # fast, regular, round the clock, walking the whole catalogue
        u.browse(rng.integers(1, 4), 50, 200, rng.uniform(3, 12), rng.uniform(0.05, 0.3), mix, 0.3,
                 lambda n: rng.integers(0, CATALOGUE, n))


def spam_comment(u: SynthUser, ctx: dict) -> None:
    """Comment runs with links or 'check out my channel'; slow: few, spread out, some harmless."""
    rng, slow = u.rng, u.slow
    k = rng.integers(1, 6) if slow else rng.integers(1, 4)
    t = u.times(u.starts(k, 0.15), rng.integers(1, 3, k) if slow else rng.integers(6, 25, k), 60 if slow else 20, 0.6)
    link, plain = (0.25, 0.6) if slow else (0.5, 0.9)
    texts = [u.text(SPAM_LINK if d < link else SPAM_PLAIN if d < plain else TALK) for d in rng.random(len(t))]
    u.add(t, ["comment"] * len(t), u.items(len(t)), texts=texts)


PERSONAS = {f.__name__: f for f in (casual, sale_day_shopper, binge_watcher, heavy_buyer, reviewer, commenter,
                                    click_farm, shilling, fake_review, bot_crawler, spam_comment)}
