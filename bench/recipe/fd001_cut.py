"""The run-to-failure stand-in with short series and few positives: C-MAPSS FD001's *test*
trajectories, which NASA cut at a random point before failure (31-303 cycles), labelled from
RUL_FD001.txt (the true remaining life at each one's last cycle): `failure_within_25` is 1 when
the engine fails within 25 cycles, 1.7% of rows in 19 of the 100 engines.

Usage: python fd001_cut.py OUT.csv
"""
import sys

import pandas as pd

columns = ["unit", "cycle", "setting_1", "setting_2", "setting_3"] + [f"s{i}" for i in range(1, 22)]
test = pd.read_csv("data/cmapss_fd001/test_FD001.txt", sep=r"\s+", header=None, names=columns)
rul_at_end = pd.read_csv("data/cmapss_fd001/RUL_FD001.txt", header=None).iloc[:, 0].to_numpy()
last = test.groupby("unit")["cycle"].transform("max")
rul = rul_at_end[test["unit"] - 1] + last - test["cycle"]
test["failure_within_25"] = (rul <= 25).astype(int)
test.to_csv(sys.argv[1], index=False)
