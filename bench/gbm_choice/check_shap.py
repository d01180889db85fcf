"""Check a Rust crate's Tree SHAP contributions against shap's TreeExplainer run on the same trees
(rebuilt from the crate's JSON dump as a shap custom tree ensemble), and check local accuracy:
sum(contributions) + expected value == raw margin.   usage: check_shap.py forust"""
import json, sys, numpy as np, shap
lib = sys.argv[1]; D, O = "/work/spike-gbm/data", "/work/spike-gbm/out"
b = open(f"{D}/ai4i_s42_test.bin", "rb").read(); r, c = (int(v) for v in np.frombuffer(b[:16], "<u8"))
X = np.frombuffer(b[16:16 + r * c * 4], "<f4").reshape(r, c).astype(np.float64)
m = json.load(open(f"{O}/{lib}_small_model.json"))
contrib = np.fromfile(f"{O}/{lib}_small_contrib.scores", "<f8").reshape(r, c + 1)
margin = np.fromfile(f"{O}/{lib}_small_margin.scores", "<f8")
trees = []
for t in m["trees"]:
    nl = t["nodes"].values() if isinstance(t["nodes"], dict) else t["nodes"]; nodes = {n["num"]: n for n in nl}
    n = max(nodes) + 1
    cl, cr, cd = (np.full(n, -1, np.int64) for _ in range(3))
    feat = np.full(n, -2, np.int64); thr = np.zeros(n); val = np.zeros((n, 1)); cov = np.zeros(n)
    for i, nd in nodes.items():
        cov[i] = nd["hessian_sum"]; val[i, 0] = nd["weight_value"]
        if not nd["is_leaf"]:
            cl[i], cr[i], cd[i] = nd["left_child"], nd["right_child"], nd["missing_node"]
            feat[i] = nd["split_feature"]
            thr[i] = np.nextafter(nd["split_value"], -np.inf)  # crate: x < split goes left; shap: x <= thr
    trees.append(dict(children_left=cl, children_right=cr, children_default=cd, features=feat,
                      thresholds=thr, values=val, node_sample_weight=cov))
ex = shap.TreeExplainer(dict(trees=trees, base_offset=m["base_score"]), feature_perturbation="tree_path_dependent")
sv = ex.shap_values(X)
print(f"{lib}: {len(trees)} trees, {r} test rows, {c} features, base_score {m['base_score']:.5f}")
print("  shap expected_value", float(np.ravel(ex.expected_value)[0]), "crate bias column mean", contrib[:, -1].mean())
print("  local accuracy: max |sum(contrib) - margin| =", np.abs(contrib.sum(1) - margin).max())
print("  shap local accuracy: max |sum(shap)+E - margin| =", np.abs(sv.sum(1) + np.ravel(ex.expected_value)[0] - margin).max())
print("  max |crate contrib - shap value| over all rows x features =", np.abs(contrib[:, :-1] - sv).max())
print("  max |crate bias - shap expected value| =", np.abs(contrib[:, -1] - np.ravel(ex.expected_value)[0]).max())
print("  mean |shap value| =", np.abs(sv).mean())
