"""Deterministic synthetic platform event logs for the demo: normal users and abusive accounts.

Personas overlap on purpose (bursty sale-day shoppers and binge watchers, heavy buyers, five-star-only
genuine reviewers; low-and-slow abusive accounts) and label-independent noise is added,
so a text classifier on the descriptions cannot be perfect. Randomness: one seeded Generator per user.
Here: who is who (persona, vertical) and the tables; the personas' behaviour is in
:mod:`rsad.data.synth_personas`, one user's draws in :mod:`rsad.data.synth_user`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rsad.data.describe import describe_events
from rsad.data.synth_personas import PERSONAS, casual
from rsad.data.synth_rings import RINGS, entity_meta, ring_table
from rsad.data.synth_user import CATALOGUE, DAY, HORIZON_DAYS, SynthUser
from rsad.errors import InputError
from rsad.i18n import _

ANOMALY_TYPES: tuple[str, ...] = ("click_farm", "shilling", "fake_review", "bot_crawler", "spam_comment")
NORMAL_TYPES: tuple[str, ...] = ("casual", "sale_day_shopper", "binge_watcher", "heavy_buyer", "reviewer", "commenter")
NORMAL_WEIGHTS = (0.34, 0.12, 0.14, 0.12, 0.14, 0.14)
VERTICALS: tuple[str, ...] = ("e-commerce", "video", "social", "games", "music")
SHOP, MEDIA, RATED = ("e-commerce",), ("social", "video", "music"), ("e-commerce", "video", "games", "music")
PERSONA_VERTICALS = {"casual": VERTICALS, "sale_day_shopper": SHOP, "binge_watcher": ("video", "music"),
                     "heavy_buyer": ("e-commerce", "games"), "reviewer": RATED, "commenter": MEDIA,
                     "click_farm": SHOP, "shilling": RATED, "fake_review": RATED, "bot_crawler": VERTICALS,
                     "spam_comment": MEDIA}
ITEM_PREFIX = {"e-commerce": "p", "video": "v", "social": "s", "games": "g", "music": "m"}
DEVICE_KINDS = ("iphone", "android", "windows", "mac", "ipad", "tv")
SLOW_SHARE = 0.5  # abusive accounts that are low and slow: a little abuse among ordinary use
LABELED_USERS, LABELED_RATE, UNLABELED_USERS, UNLABELED_RATE = 2500, 0.37, 1000, 0.07
RING_ROWS, RING_ROWS_BATCH = sum(r[2] for r in RINGS), sum(r[1] for r in RINGS)  # planted rows (labeled, batch)


def _ips(rng: np.random.Generator, k: int) -> list[str]:
    return [".".join(map(str, q)) for q in rng.integers(1, 255, (k, 4))]


def _finish(u: SynthUser, ctx: dict) -> dict[str, np.ndarray]:
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
        raise InputError(_("make_events needs n_users >= 1 (got {n_users}) and anomaly_rate in [0, 1] (got "
                           "{anomaly_rate}).").format(n_users=n_users, anomaly_rate=anomaly_rate))
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
        u = SynthUser(rng, vertical, cdf, slow=bool(rng.random() < SLOW_SHARE))
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


def make_demo_tables(seed: int = 7, *, rings: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labeled, unlabeled) behavior-description tables for the demo.

    labeled: 2,500 users (37% anomalies of every type) with is_anomaly, persona and vertical;
    unlabeled: 1,000 users (7% anomalies) without any of those columns. Ids start with 'u' and 'n'.
    Every record has the entity columns device_id, ip and shop_id (:mod:`rsad.data.synth_rings`);
    ``rings`` appends the planted coordinated groups (RING_ROWS labeled, RING_ROWS_BATCH unlabeled,
    ids from 'u90001' and 'n90001') after the users, who stay as they were.
    """
    tables = []
    for n, rate, prefix in ((LABELED_USERS, LABELED_RATE, "u"), (UNLABELED_USERS, UNLABELED_RATE, "n")):
        events, users = make_events(n, anomaly_rate=rate, seed=seed, id_prefix=prefix)
        table = describe_events(events).merge(users, on="user_id", how="left", validate="1:1")
        table = table.merge(entity_meta(events, users), on="user_id", how="left", validate="1:1")
        if rings:
            table = pd.concat([table, ring_table(seed, prefix, labeled=prefix == "u")], ignore_index=True)
        tables.append(table)
    return tables[0], tables[1].drop(columns=["is_anomaly", "persona", "vertical"])
