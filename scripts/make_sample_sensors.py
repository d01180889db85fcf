#!/usr/bin/env python3
"""Writes data/sensors.csv: a small fleet of pumps with hourly sensor readings.

A stop-gap sample for pipelines/train.yaml until `pmflow gen-data` exists. Deterministic
(seeded), standard library only. Each pump degrades before a failure: vibration and
temperature rise, pressure drops; `failure` is 1 in the 24 hours before a failure event.
Messy on purpose: ~2% missing values, a few repeated rows, a few sensor spikes.
"""
import math
import random
from datetime import datetime, timedelta

rng = random.Random(7)
start = datetime(2024, 1, 1)
rows = []
for pump in range(1, 9):
    eid = f"P{pump:02d}"
    hours = 500
    failures = sorted(rng.sample(range(120, hours), 2))
    base_t, base_p = 60 + rng.uniform(-3, 3), 5.0 + rng.uniform(-0.3, 0.3)
    last_reset = 0
    for h in range(hours):
        nxt = next((f for f in failures if f >= h), None)
        to_fail = (nxt - h) if nxt is not None else 10**6
        wear = max(0.0, 1.0 - to_fail / 72.0)  # degradation over the last 72 h
        if h in failures:
            last_reset = h
        daily = math.sin(2 * math.pi * (h % 24) / 24)
        temp = base_t + 2.0 * daily + 8.0 * wear + rng.gauss(0, 0.6)
        pres = base_p - 0.8 * wear + rng.gauss(0, 0.05)
        vib = 0.9 + 2.5 * wear ** 2 + rng.gauss(0, 0.08)
        rpm = 1480 + 15 * daily - 40 * wear + rng.gauss(0, 5)
        label = 1 if 0 <= to_fail < 24 else 0
        values = [temp, pres, vib, rpm]
        if rng.random() < 0.004:  # spike
            values[rng.randrange(4)] *= 3
        cells = [f"{v:.3f}" if rng.random() > 0.02 else "" for v in values]
        ts = (start + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append([ts, eid] + cells + [str(label)])
        if rng.random() < 0.003:  # a logger that wrote the same row twice
            rows.append(list(rows[-1]))

with open("data/sensors.csv", "w", newline="\n") as f:
    f.write("timestamp,equipment_id,temperature,pressure,vibration,rpm,failure\n")
    for r in rows:
        f.write(",".join(r) + "\n")
print(f"wrote data/sensors.csv: {len(rows)} rows")
