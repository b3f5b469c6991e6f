"""The Chinese demo's data: one behaviour description per user, in Chinese, from templates.

The English demo simulates event logs and describes them (:mod:`rsad.data.synth`); the Chinese
one writes the descriptions directly from the phrase banks of :mod:`rsad.data.synth_zh_text`, for
the same kinds of cases: fake orders (刷单), fake reviews (虚假好评), traffic fraud (刷量), game
cheating (外挂), comment spam and scripted sessions, among ordinary users on the same platforms
(e-commerce, video, social, games, music). It is as hard on purpose: half the abusive accounts are
"slow" (one weak sign among ordinary use), normal users show alarming-looking facts of their own
(sale-day bursts, long binges, high win rates, a link, five stars only), and label-independent
facts (devices, cities, habits) are added to everyone. One seeded Generator per user.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from rsad.data import synth_zh_text as t
from rsad.data.synth import LABELED_RATE, LABELED_USERS, UNLABELED_RATE, UNLABELED_USERS
from rsad.errors import InputError
from rsad.i18n import _

ANOMALY_TYPES: tuple[str, ...] = ("click_farm", "fake_review", "traffic_fraud", "game_cheat", "spam_comment",
                                  "bot_session")
NORMAL_TYPES: tuple[str, ...] = ("casual", "sale_day_shopper", "binge_watcher", "heavy_buyer", "reviewer", "commenter",
                                 "pro_gamer")
NORMAL_WEIGHTS = (0.3, 0.12, 0.12, 0.1, 0.13, 0.12, 0.11)
ALL, RATED, MEDIA = tuple(t.PLATFORMS), ("e-commerce", "video", "games", "music"), ("social", "video", "music")
PERSONA_VERTICALS = {"casual": ALL, "sale_day_shopper": ("e-commerce",), "binge_watcher": ("video", "music"),
                     "heavy_buyer": ("e-commerce",), "reviewer": RATED, "commenter": MEDIA, "pro_gamer": ("games",),
                     "click_farm": ("e-commerce",), "fake_review": RATED, "traffic_fraud": MEDIA,
                     "game_cheat": ("games",), "spam_comment": MEDIA, "bot_session": ALL}
BUSY = {"traffic_fraud", "bot_session", "binge_watcher", "commenter", "pro_gamer"}  # many events
SLOW_SHARE = 0.5  # abusive accounts showing one weak sign among ordinary use
HIDDEN_SHARE = 0.3  # of the slow ones: no sign at all in the description (what no model can find)
LOOKALIKE_SHARE = 0.35  # normal users showing one weak sign of an abuse on their platform
SLOT = re.compile(r"\{([^{}]+)\}")


class _Filler:
    """One user's slot values: fixed per user where sentences must agree (days, city, device)."""

    def __init__(self, rng: np.random.Generator, vertical: str, busy: bool) -> None:
        self.rng, self.vertical = rng, vertical
        d = self.num(7, 30)
        a = self.num(1, d)
        n = self.num(100, 1500) if busy else self.num(8, 300)
        cities = rng.choice(len(t.CITIES), 2, replace=False)
        aspects = rng.choice(len(t.ASPECTS[vertical]), 2, replace=False)
        self.fixed = {"d": str(d), "a": str(a), "n": str(n), "s": str(self.num(a, max(a, min(n, 3 * a)))),
                      "city": t.CITIES[cities[0]], "city2": t.CITIES[cities[1]], "dev": self.pick(t.DEVICES),
                      "plat": self.pick(t.PLATFORMS[vertical]), "aspect": t.ASPECTS[vertical][aspects[0]],
                      "aspect2": t.ASPECTS[vertical][aspects[1]]}
        self.draws: dict[str, Callable[[], object]] = {
            "k": lambda: self.num(2, 9), "k2": lambda: self.num(2, 9), "n2": lambda: self.num(10, 60),
            "m": lambda: self.num(1, 15), "x": lambda: self.num(3, 40), "price": lambda: 10 * self.num(1, 40) - 1,
            "item": lambda: self.pick(t.ITEMS[vertical]), "issue": lambda: self.fill(self.pick(t.ISSUES)),
            "good": lambda: self.pick(t.GOOD), "url": lambda: self.fill(self.pick(t.URLS)),
            "praise": lambda: self.fill(self.pick(t.PRAISE)), "genuine": lambda: self.fill(self.pick(t.GENUINE)),
            "spam": lambda: self.fill(self.pick(t.SPAM)), "talk": lambda: self.fill(self.pick(t.TALK)),
        }

    def num(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def sample(self, options: tuple[str, ...], k: int) -> list[str]:
        k = min(k, len(options))
        return [options[i] for i in self.rng.choice(len(options), k, replace=False)] if k > 0 else []

    def _slot(self, name: str) -> str:
        if "~" in name:
            lo, hi = name.split("~")
            return str(self.num(int(lo), int(hi)))
        return self.fixed[name] if name in self.fixed else str(self.draws[name]())

    def fill(self, template: str) -> str:
        return SLOT.sub(lambda m: self._slot(m.group(1)), template)


def _facts(f: _Filler, persona: str, slow: bool) -> list[str]:
    """The persona's sentences (templates), ordinary use and label-independent facts, shuffled."""
    rng, casual = f.rng, t.CASUAL[f.vertical]
    strong, weak = t.FACTS.get(persona, ((), ()))
    if persona == "casual":
        facts = f.sample(casual, f.num(2, 3))
        if f.vertical != "social" and rng.random() < 0.15:  # ordinary users praise too
            facts.append("评价过：“{praise}”")
    elif persona in ANOMALY_TYPES and slow:
        facts = f.sample(casual, f.num(1, 2)) + f.sample(weak, int(rng.random() >= HIDDEN_SHARE))
    else:
        facts = f.sample(strong, f.num(1, 3)) + f.sample(casual, f.num(0, 1))
    if persona not in ANOMALY_TYPES and rng.random() < LOOKALIKE_SHARE:
        kin = [a for a in ANOMALY_TYPES if f.vertical in PERSONA_VERTICALS[a]]
        facts += f.sample(t.FACTS[f.pick(tuple(kin))][1], 1)
    quote = t.QUOTES.get(persona)
    if quote and not any("“" in x for x in facts) and rng.random() < (0.3 if slow else 0.6):
        facts.append(f.pick(("内容示例：“{%s}”", "写过：“{%s}”")) % quote)
    facts += f.sample(t.NOISE, f.num(1, 2))
    return [facts[i] for i in rng.permutation(len(facts))]


def describe_user(rng: np.random.Generator, persona: str, vertical: str, slow: bool) -> str:
    """One user's description: an activity opener, then the facts, as Chinese sentences."""
    f = _Filler(rng, vertical, persona in BUSY and not (slow and persona in ANOMALY_TYPES))
    return f.fill(f.pick(t.OPENERS)) + "。".join(f.fill(x) for x in _facts(f, persona, slow)) + "。"


def make_zh_cases(n_users: int, *, anomaly_rate: float, seed: int, id_prefix: str = "u") -> pd.DataFrame:
    """``n_users`` described users: case_id, behavior_description, is_anomaly (0/1), persona,
    vertical. Exactly round(n_users * anomaly_rate) anomalies, spread evenly over ANOMALY_TYPES.
    Same arguments, same table; ``id_prefix`` names the users and selects the random stream."""
    if n_users < 1 or not 0 <= anomaly_rate <= 1:
        raise InputError(_("make_zh_cases needs n_users >= 1 (got {n_users}) and anomaly_rate in [0, 1] (got "
                           "{anomaly_rate}).").format(n_users=n_users, anomaly_rate=anomaly_rate))
    stream = int.from_bytes(id_prefix.encode()[:8] or b"\0", "little")
    root = np.random.default_rng([seed, stream, 86])  # 86: not the English demo's stream
    n_anom = round(n_users * anomaly_rate)
    normal = root.choice(NORMAL_TYPES, n_users - n_anom, p=NORMAL_WEIGHTS)
    personas = root.permutation(np.concatenate([np.resize(ANOMALY_TYPES, n_anom), normal]).astype(str))
    verticals = [str(root.choice(PERSONA_VERTICALS[p])) for p in personas]
    texts = []
    for i, (persona, vertical) in enumerate(zip(personas, verticals)):
        rng = np.random.default_rng([seed, stream, 86, i])
        texts.append(describe_user(rng, persona, vertical, slow=bool(rng.random() < SLOW_SHARE)))
    return pd.DataFrame({"case_id": [f"{id_prefix}{i:05d}" for i in range(1, n_users + 1)],
                         "behavior_description": texts,
                         "is_anomaly": np.isin(personas, ANOMALY_TYPES).astype(int),
                         "persona": personas, "vertical": verticals})


def make_zh_demo_tables(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labeled, unlabeled) Chinese tables of the demo's sizes and rates (see make_demo_tables):
    the unlabeled one without is_anomaly, persona and vertical. Ids start with 'u' and 'n'."""
    labeled = make_zh_cases(LABELED_USERS, anomaly_rate=LABELED_RATE, seed=seed, id_prefix="u")
    unlabeled = make_zh_cases(UNLABELED_USERS, anomaly_rate=UNLABELED_RATE, seed=seed, id_prefix="n")
    return labeled, unlabeled.drop(columns=["is_anomaly", "persona", "vertical"])
