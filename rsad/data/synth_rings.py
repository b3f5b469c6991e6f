"""Coordinated groups for the demo (rings), and the entity columns every demo record carries.

Three kinds of ring, each from its own seeded Generator so that the ordinary demo records stay as
they were (they only gain the columns below):

* a shop whose accounts post templated five-star reviews of its items within one hour;
* one device shared by many accounts, each running a fast scripted burst;
* a burst of identical orders of one item (cart, order, no view) by unrelated-looking accounts.

Their events go through :func:`rsad.data.describe.describe_events` like everyone's, so their
texts read like the rest. Entity columns: ``device_id`` and ``ip`` (the user's most used),
``shop_id`` (e-commerce users: the shop of the item they touched most; others none) next to
``user_id`` and ``first_seen`` (the time column of the demo's ring settings).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rsad.data.describe import describe_events
from rsad.data.synth_user import DAY

RING_STREAM = 0x52494E47  # "RING": the rings' own random stream, apart from the users'
SHOPS = 600
START = "2026-10-01"  # the demo window's start (rsad.data.synth.make_events)
# (kind, accounts in the demo batch, accounts in the labeled seed batch, persona in the seed)
RINGS = (("shop", 20, 8, "fake_review"), ("device", 15, 6, "click_farm"), ("orders", 12, 6, "click_farm"))
TEMPLATES = ("amazing {a}, five stars, fast shipping from {shop}!", "five stars! the {a} is perfect, thank you {shop}",
             "best {a} ever, five stars, will buy again from {shop}")
ASPECTS = ("quality", "packaging", "fit", "price", "seller")


def entity_meta(events: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """user_id, device_id, ip, shop_id of each user: the most used device and IP, and for
    e-commerce users the shop of the item they touched most (ties: the first in name order)."""
    out = users[["user_id"]].copy()
    for col, name in (("device", "device_id"), ("ip", "ip")):
        top = events.groupby(["user_id", col]).size().rename("n").reset_index()
        top = top.sort_values(["user_id", "n", col], ascending=[True, False, True]).drop_duplicates("user_id")
        out = out.merge(top[["user_id", col]].rename(columns={col: name}), on="user_id", how="left")
    shop_users = set(users.loc[users["vertical"] == "e-commerce", "user_id"])
    ev = events[events["user_id"].isin(shop_users)]
    top = ev.groupby(["user_id", "item_id"]).size().rename("n").reset_index()
    top = top.sort_values(["user_id", "n", "item_id"], ascending=[True, False, True]).drop_duplicates("user_id")
    # Items map onto shops by a fixed scramble, so the most popular items do not all sit in one shop.
    shop = top["item_id"].str[1:].astype(int).map(lambda k: f"shop-{(k * 7919 + 13) % SHOPS:04d}")
    return out.merge(pd.DataFrame({"user_id": top["user_id"], "shop_id": shop}), on="user_id", how="left")


def _ring_events(kind: str, ids: list[str], rng: np.random.Generator, day: int) -> tuple[pd.DataFrame, dict]:
    """The events of one ring's accounts (one table) and the entity values they share."""
    t0 = day * DAY + rng.integers(9, 20) * 3600.0
    n, rows = len(ids), []
    shared: dict[str, str] = {}
    ips = [".".join(map(str, q)) for q in rng.integers(1, 255, (n, 4))]
    devices = [f"android-{b:06x}" for b in rng.integers(0, 16**6, n)]
    if kind == "shop":
        shared["shop_id"] = shop = f"shop-{SHOPS + rng.integers(0, 400):04d}"  # outside the ordinary shops
        items = [f"p{k}" for k in rng.integers(3000, 4000, 4)]
        pool = ips[:3]  # a handful of addresses for twenty accounts
        for i, u in enumerate(ids):
            t, item = t0 + rng.uniform(0, 3000), items[rng.integers(len(items))]
            text = TEMPLATES[rng.integers(len(TEMPLATES))].format(a=ASPECTS[rng.integers(len(ASPECTS))], shop=shop)
            for dt, act, rating, txt in ((0, "view", np.nan, ""), (40, "order", np.nan, ""), (90, "rate", 5.0, ""),
                                         (150, "review", np.nan, text)):
                rows.append((u, t + dt + rng.uniform(0, 20), act, item, rating, txt, devices[i], pool[i % 3]))
    elif kind == "device":
        shared["device_id"] = device = f"android-{rng.integers(0, 16**6):06x}"
        for i, u in enumerate(ids):
            t = t0 + i * rng.uniform(300, 700)  # one account after another on the same phone
            for k in range(int(rng.integers(25, 40))):
                act = ("login", "like", "follow", "click")[0 if k == 0 else rng.integers(1, 4)]
                rows.append((u, t + 2.0 * k + rng.uniform(0, 0.5), act, f"s{rng.integers(0, 50)}", np.nan, "",
                             device, ips[i]))
    else:
        item = f"p{rng.integers(3000, 4000)}"
        for i, u in enumerate(ids):
            t = t0 + rng.uniform(0, 600)  # the same order, placed within ten minutes
            for dt, act in ((0, "cart"), (12, "order"), (20, "order"), (28, "order")):
                rows.append((u, t + dt, act, item, np.nan, "", devices[i], ips[i]))
    cols = ["user_id", "t", "action", "item_id", "rating", "text", "device", "ip"]
    ev = pd.DataFrame(rows, columns=cols)
    base = pd.Timestamp(START, tz="UTC").tz_localize(None)
    ev["timestamp"] = (base + pd.to_timedelta(ev.pop("t"), unit="s")).dt.strftime("%Y-%m-%dT%H:%M:%S")
    return ev, shared


def ring_table(seed: int, prefix: str, *, labeled: bool) -> pd.DataFrame:
    """The planted rings' records for one demo table (``prefix``: "u" labeled seed, "n" demo batch):
    the describe_events columns, the entity columns and, for the labeled table, is_anomaly (1),
    persona and vertical. Ids continue the table's own ("n90001", ...) and say nothing of the ring."""
    rng = np.random.default_rng([seed, RING_STREAM, int(labeled)])
    frames, number = [], 90001
    for ring_no, (kind, batch_n, seed_n, persona) in enumerate(RINGS):
        n = seed_n if labeled else batch_n
        ids = [f"{prefix}{number + k:05d}" for k in range(n)]
        number += n
        events, shared = _ring_events(kind, ids, rng, day=int(rng.integers(3, 27)) + ring_no)
        table = describe_events(events[["user_id", "timestamp", "action", "item_id", "rating", "text", "device", "ip"]])
        users = pd.DataFrame({"user_id": ids, "vertical": "e-commerce" if kind != "device" else "social"})
        meta = entity_meta(events, users)
        if "shop_id" in shared:
            meta["shop_id"] = shared["shop_id"]
        table = table.merge(meta, on="user_id", how="left", validate="1:1")
        if labeled:
            table = table.assign(is_anomaly=1, persona=persona, vertical=users["vertical"].to_numpy())
        frames.append(table)
    return pd.concat(frames, ignore_index=True)
