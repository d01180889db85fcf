//! Spike: train pure-Rust GBM crates (and optionally LightGBM through lightgbm3) on the arrays
//! prep.py wrote; print timings, write scores for score.py (which computes PR-AUC for all).
use std::fs::File;
use std::io::{Read, Write};
use std::time::Instant;

use forust_ml::gradientbooster::{ContributionsMethod as FContrib, GrowPolicy};
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::GradientBooster;
use perpetual::objective::Objective;
use perpetual::PerpetualBooster;

const D: &str = "/work/spike-gbm/data";
const O: &str = "/work/spike-gbm/out";

struct Data { rows: usize, cols: usize, x: Vec<f32>, y: Vec<f32> }

fn load(name: &str) -> Data {
    let mut b = Vec::new();
    File::open(format!("{D}/{name}.bin")).unwrap().read_to_end(&mut b).unwrap();
    let rows = u64::from_le_bytes(b[0..8].try_into().unwrap()) as usize;
    let cols = u64::from_le_bytes(b[8..16].try_into().unwrap()) as usize;
    let f = |s: &[u8]| s.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<_>>();
    let x = f(&b[16..16 + rows * cols * 4]);
    let y = f(&b[16 + rows * cols * 4..]);
    Data { rows, cols, x, y }
}

impl Data {
    /// Column-major f64, the layout forust and perpetual take.
    fn colmajor(&self) -> Vec<f64> {
        let mut out = vec![0f64; self.rows * self.cols];
        for r in 0..self.rows {
            for c in 0..self.cols { out[c * self.rows + r] = self.x[r * self.cols + c] as f64; }
        }
        out
    }
    fn y64(&self) -> Vec<f64> { self.y.iter().map(|&v| v as f64).collect() }
}

fn write_scores(name: &str, s: &[f64]) {
    let mut f = File::create(format!("{O}/{name}.scores")).unwrap();
    for v in s { f.write_all(&v.to_le_bytes()).unwrap(); }
}

fn threads() -> usize { std::env::var("BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2) }

fn forust(iters: usize, lgbm_like: bool, seed: u64, es: bool) -> GradientBooster {
    let mut b = GradientBooster::default()
        .set_objective_type(ObjectiveType::LogLoss)
        .set_iterations(iters)
        .set_learning_rate(0.1)
        .set_max_depth(64)
        .set_max_leaves(31)
        .set_nbins(256)
        .set_seed(seed)
        .set_num_threads(Some(threads()))
        .set_parallel(true);
    b.grow_policy = GrowPolicy::LossGuide;
    if lgbm_like { b = b.set_l2(0.0).set_min_leaf_weight(1e-3); }
    if es { b = b.set_evaluation_metric(Some(Metric::LogLoss)).set_early_stopping_rounds(Some(20)); }
    b
}

fn perp(budget: f32, iters: usize, seed: u64) -> PerpetualBooster {
    PerpetualBooster::default()
        .set_objective(Objective::LogLoss)
        .set_budget(budget)
        .set_iteration_limit(Some(iters))
        .set_num_threads(Some(2))
        .set_seed(seed)
}

fn ai4i() {
    for seed in [42u64, 1, 2] {
        let tr = load(&format!("ai4i_s{seed}_train"));
        let va = load(&format!("ai4i_s{seed}_val"));
        let te = load(&format!("ai4i_s{seed}_test"));
        let (xtr, xva, xte) = (tr.colmajor(), va.colmajor(), te.colmajor());
        let (ytr, yva) = (tr.y64(), va.y64());
        let mtr = forust_ml::Matrix::new(&xtr, tr.rows, tr.cols);
        let mte = forust_ml::Matrix::new(&xte, te.rows, te.cols);
        let w = vec![1.0; tr.rows];
        let wv = vec![1.0; va.rows];
        for (tag, lgbm_like) in [("forust_xgbdefaults", false), ("forust_lgbmlike", true)] {
            let mut b = forust(300, lgbm_like, seed, true);
            let mva = forust_ml::Matrix::new(&xva, va.rows, va.cols);
            let t = Instant::now();
            b.fit(&mtr, &ytr, &w, Some(vec![(mva, &yva, &wv)])).unwrap();
            let fit_s = t.elapsed().as_secs_f64();
            let p = b.predict(&mte, true);
            println!("{tag} seed={seed} trees={} best_iter={:?} fit_s={fit_s:.3}", b.trees.len(), b.best_iteration);
            write_scores(&format!("{tag}_ai4i_s{seed}"), &p);
        }
        // Perpetual: no validation-set early stopping; it stops by its own rule. Train part only.
        let ptr = perpetual::Matrix::new(&xtr, tr.rows, tr.cols);
        let pte = perpetual::Matrix::new(&xte, te.rows, te.cols);
        for budget in [0.5f32, 1.0] {
            let mut b = perp(budget, 300, seed);
            let t = Instant::now();
            b.fit(&ptr, &ytr, None, None).unwrap();
            let fit_s = t.elapsed().as_secs_f64();
            let p = b.predict(&pte, true);
            println!("perpetual_b{budget} seed={seed} trees={} fit_s={fit_s:.3}", b.get_prediction_trees().len());
            write_scores(&format!("perpetual_b{budget}_ai4i_s{seed}"), &p);
        }
        #[cfg(feature = "lightgbm3")]
        {
            use lightgbm3::{Booster, Dataset};
            let dtr = Dataset::from_slice(&tr.x, &tr.y, tr.cols as i32, true).unwrap();
            let dva = Dataset::from_slice_with_reference(&va.x, &va.y, va.cols as i32, true, Some(&dtr)).unwrap();
            let params = serde_json::json!({"objective": "binary", "learning_rate": 0.1, "num_leaves": 31,
                "num_iterations": 300, "early_stopping_rounds": 20, "metric": "binary_logloss",
                "seed": seed, "deterministic": true, "num_threads": 2, "verbose": -1});
            let t = Instant::now();
            let b = Booster::train_with_valid(dtr, Some(dva), &params).unwrap();
            let fit_s = t.elapsed().as_secs_f64();
            let p = b.raw_scores(&te.x, te.cols as i32, true).unwrap();
            println!("lightgbm3 seed={seed} trees={} fit_s={fit_s:.3}", b.num_iterations());
            write_scores(&format!("lightgbm3_ai4i_s{seed}"), &p);
        }
    }
}

fn synth(which: &str) {
    let t = Instant::now();
    let tr = load("synth_train");
    let te = load("synth_test");
    println!("load_s={:.2}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let xtr = tr.colmajor();
    let xte = te.colmajor();
    println!("to_colmajor_f64_s={:.2} (adapter cost, not in train_s)", t.elapsed().as_secs_f64());
    let ytr = tr.y64();
    match which {
        "forust" => {
            let m = forust_ml::Matrix::new(&xtr, tr.rows, tr.cols);
            let xgb = std::env::var("FORUST_XGB").is_ok();
            let mut b = forust(100, !xgb, 0, false);
            let w = vec![1.0; tr.rows];
            let t = Instant::now();
            b.fit(&m, &ytr, &w, None).unwrap();
            let fit = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let _p = b.predict(&m, true);
            let sc = t.elapsed().as_secs_f64();
            println!("RESULT forust synth trees={} train_s={fit:.2} score_1M_s={sc:.2}", b.trees.len());
            write_scores(if xgb { "forust_xgbdefaults_synth_test" } else { "forust_synth_test" }, &b.predict(&forust_ml::Matrix::new(&xte, te.rows, te.cols), true));
        }
        "perpetual" => {
            let m = perpetual::Matrix::new(&xtr, tr.rows, tr.cols);
            let mut b = perp(0.5, 100, 0);
            let t = Instant::now();
            b.fit(&m, &ytr, None, None).unwrap();
            let fit = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let _p = b.predict(&m, true);
            let sc = t.elapsed().as_secs_f64();
            println!("RESULT perpetual synth trees={} train_s={fit:.2} score_1M_s={sc:.2}", b.get_prediction_trees().len());
            write_scores("perpetual_synth_test", &b.predict(&perpetual::Matrix::new(&xte, te.rows, te.cols), true));
        }
        #[cfg(feature = "lightgbm3")]
        "lightgbm3" => {
            use lightgbm3::{Booster, Dataset};
            let params = serde_json::json!({"objective": "binary", "learning_rate": 0.1, "num_leaves": 31,
                "num_iterations": 100, "seed": 0, "deterministic": true, "num_threads": 2, "verbose": -1});
            let t = Instant::now();
            let d = Dataset::from_slice(&tr.x, &tr.y, tr.cols as i32, true).unwrap();
            let b = Booster::train(d, &params).unwrap();
            let fit = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let _p = b.raw_scores(&tr.x, tr.cols as i32, true).unwrap();
            let sc = t.elapsed().as_secs_f64();
            println!("RESULT lightgbm3 synth trees={} train_s={fit:.2} score_1M_s={sc:.2}", b.num_iterations());
            write_scores("lightgbm3_synth_test", &b.raw_scores(&te.x, te.cols as i32, true).unwrap());
        }
        _ => panic!("unknown {which}"),
    }
}

/// Small forust model on AI4I seed 42: dump model JSON, Shapley contributions and raw margins
/// for the test rows, so check_shap.py can compare with shap's TreeExplainer on the same trees.
fn shap(lib: &str) {
    let tr = load("ai4i_s42_train");
    let te = load("ai4i_s42_test");
    let (xtr, xte) = (tr.colmajor(), te.colmajor());
    let ytr = tr.y64();
    let (json, contrib, margin) = match lib {
        "forust" => {
            let mut b = forust(20, true, 42, false);
            b.fit(&forust_ml::Matrix::new(&xtr, tr.rows, tr.cols), &ytr, &vec![1.0; tr.rows], None).unwrap();
            let m = forust_ml::Matrix::new(&xte, te.rows, te.cols);
            let t = Instant::now();
            let c = b.predict_contributions(&m, FContrib::Shapley, true);
            println!("forust shapley contributions for {} rows: {:.3}s", te.rows, t.elapsed().as_secs_f64());
            (b.json_dump().unwrap(), c, b.predict(&m, true))
        }
        _ => {
            use perpetual::booster::config::ContributionsMethod as PContrib;
            use perpetual::booster::config::BoosterIO;
            let mut b = perp(0.5, 20, 42);
            b.fit(&perpetual::Matrix::new(&xtr, tr.rows, tr.cols), &ytr, None, None).unwrap();
            let m = perpetual::Matrix::new(&xte, te.rows, te.cols);
            let c = b.predict_contributions(&m, PContrib::Shapley, true);
            (b.json_dump().unwrap(), c, b.predict(&m, true))
        }
    };
    std::fs::write(format!("{O}/{lib}_small_model.json"), &json).unwrap();
    write_scores(&format!("{lib}_small_contrib"), &contrib);
    write_scores(&format!("{lib}_small_margin"), &margin);
    println!("{lib} model json {} bytes", json.len());
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a[1].as_str() {
        "ai4i" => ai4i(),
        "synth" => synth(&a[2]),
        "shap" => shap(&a[2]),
        _ => panic!("usage: bench ai4i | synth <forust|perpetual|lightgbm3> | shap <forust|perpetual>"),
    }
}
