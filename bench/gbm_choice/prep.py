"""Write the arrays every implementation sees: AI4I 2020 (3 seeds, stratified 70/15/15)
and a synthetic 1,000,000 x 60 set (~2% positives). Format of each .bin: u64 rows, u64 cols,
then rows*cols f32 row-major X, then rows f32 y (little-endian)."""
import json, numpy as np, pandas as pd
from sklearn.model_selection import train_test_split

D = "/work/spike-gbm/data"

def dump(path, X, y):
    X = np.ascontiguousarray(X, dtype="<f4"); y = np.ascontiguousarray(y, dtype="<f4")
    with open(path, "wb") as f:
        f.write(np.array([X.shape[0], X.shape[1]], dtype="<u8").tobytes())
        f.write(X.tobytes()); f.write(y.tobytes())

df = pd.read_csv("/work/shared/data/ai4i2020/ai4i2020.csv", encoding="utf-8-sig")
num = ["Air temperature [K]", "Process temperature [K]", "Rotational speed [rpm]", "Torque [Nm]", "Tool wear [min]"]
X = pd.concat([df[num].astype("float32"), pd.get_dummies(df["Type"], prefix="Type").astype("float32")], axis=1)
y = df["Machine failure"].to_numpy()
names = list(X.columns)
X = X.to_numpy()
for seed in (42, 1, 2):
    Xtr, Xrest, ytr, yrest = train_test_split(X, y, test_size=0.30, stratify=y, random_state=seed)
    Xva, Xte, yva, yte = train_test_split(Xrest, yrest, test_size=0.50, stratify=yrest, random_state=seed)
    for part, (a, b) in {"train": (Xtr, ytr), "val": (Xva, yva), "test": (Xte, yte)}.items():
        dump(f"{D}/ai4i_s{seed}_{part}.bin", a, b)
    print("ai4i seed", seed, "rows", len(ytr), len(yva), len(yte), "pos", ytr.sum(), yva.sum(), yte.sum())

rng = np.random.default_rng(20261208)
def synth(n):
    X = rng.standard_normal((n, 60), dtype=np.float32)
    z = (1.5 * X[:, 0] + X[:, 1] * X[:, 2] + 2.0 * (X[:, 3] > 1) - np.abs(X[:, 4])
         + 0.5 * np.sin(3 * X[:, 5]) + 0.7 * X[:, 6] * (X[:, 7] > 0) + 0.3 * X[:, 8:20].sum(1) / np.sqrt(12))
    return X, z
Xs, zs = synth(1_000_000)
lo, hi = -20.0, 0.0
for _ in range(60):  # intercept giving a 2% positive rate
    b = (lo + hi) / 2
    if (1 / (1 + np.exp(-(zs + b)))).mean() > 0.02: hi = b
    else: lo = b
ys = (rng.random(len(zs)) < 1 / (1 + np.exp(-(zs + b)))).astype(np.float32)
dump(f"{D}/synth_train.bin", Xs, ys)
Xt, zt = synth(200_000)
yt = (rng.random(len(zt)) < 1 / (1 + np.exp(-(zt + b)))).astype(np.float32)
dump(f"{D}/synth_test.bin", Xt, yt)
print("synth pos rate train", ys.mean(), "test", yt.mean(), "intercept", b)
json.dump({"ai4i_features": names}, open(f"{D}/meta.json", "w"))
