"""Python peers on the same arrays: scikit-learn HistGradientBoostingClassifier and LightGBM.
usage: peers.py ai4i | peers.py synth hgb|lgb   (run with OMP_NUM_THREADS=2)"""
import sys, time, numpy as np
D, O = "/work/spike-gbm/data", "/work/spike-gbm/out"

def load(name):
    b = open(f"{D}/{name}.bin", "rb").read()
    r, c = np.frombuffer(b[:16], "<u8")
    X = np.frombuffer(b[16:16 + int(r * c) * 4], "<f4").reshape(int(r), int(c))
    y = np.frombuffer(b[16 + int(r * c) * 4:], "<f4")
    return X, y

def save(name, s):
    np.asarray(s, "<f8").tofile(f"{O}/{name}.scores")

def hgb(iters, seed, es):
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(learning_rate=0.1, max_leaf_nodes=31, max_iter=iters,
        early_stopping=es, n_iter_no_change=20, scoring="loss", random_state=seed)

def lgb_params(seed):
    return dict(objective="binary", learning_rate=0.1, num_leaves=31, seed=seed, deterministic=True,
                num_threads=int(__import__("os").environ.get("BENCH_THREADS", "2")), verbose=-1, metric="binary_logloss")

if sys.argv[1] == "ai4i":
    import lightgbm as lgb
    for seed in (42, 1, 2):
        (Xtr, ytr), (Xva, yva), (Xte, yte) = (load(f"ai4i_s{seed}_{p}") for p in ("train", "val", "test"))
        m = hgb(300, seed, True)
        t = time.perf_counter(); m.fit(Xtr, ytr, X_val=Xva, y_val=yva); f = time.perf_counter() - t
        save(f"sklearn_hgb_ai4i_s{seed}", m.decision_function(Xte))
        print(f"sklearn_hgb seed={seed} iters={m.n_iter_} fit_s={f:.3f}")
        dtr = lgb.Dataset(Xtr, ytr); dva = lgb.Dataset(Xva, yva, reference=dtr)
        t = time.perf_counter()
        b = lgb.train(lgb_params(seed), dtr, num_boost_round=300, valid_sets=[dva],
                      callbacks=[lgb.early_stopping(20, verbose=False)])
        f = time.perf_counter() - t
        save(f"lightgbm_py_ai4i_s{seed}", b.predict(Xte, raw_score=True, num_iteration=b.best_iteration))
        print(f"lightgbm_py seed={seed} best_iter={b.best_iteration} fit_s={f:.3f}")
else:
    Xtr, ytr = load("synth_train"); Xte, yte = load("synth_test")
    if sys.argv[2] == "hgb":
        m = hgb(100, 0, False)
        t = time.perf_counter(); m.fit(Xtr, ytr); f = time.perf_counter() - t
        t = time.perf_counter(); m.decision_function(Xtr); s = time.perf_counter() - t
        save("sklearn_hgb_synth_test", m.decision_function(Xte))
        print(f"RESULT sklearn_hgb synth iters={m.n_iter_} train_s={f:.2f} score_1M_s={s:.2f}")
    else:
        import lightgbm as lgb
        t = time.perf_counter()
        b = lgb.train(lgb_params(0), lgb.Dataset(Xtr, ytr), num_boost_round=100)
        f = time.perf_counter() - t
        t = time.perf_counter(); b.predict(Xtr, raw_score=True); s = time.perf_counter() - t
        save("lightgbm_py_synth_test", b.predict(Xte, raw_score=True))
        print(f"RESULT lightgbm_py synth iters={b.num_trees()} train_s={f:.2f} score_1M_s={s:.2f}")
