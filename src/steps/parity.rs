//! Parity with the Python pipeline on real data: pmflow's steps against pandas' output for the
//! same work, stored as fixtures under tests/fixtures/ with the script that made them.

use polars::prelude::*;

use super::{feature, load};
use crate::frame::{column_f64, Roles, Table};
use crate::steps::context::StepContext;

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// NASA C-MAPSS FD001's training file, loaded as pipelines/cmapss.yaml loads it.
pub(super) fn cmapss_fd001() -> Table {
    let mut names = vec!["unit".to_string(), "cycle".into()];
    names.extend((1..=3).map(|i| format!("setting_{i}")));
    names.extend((1..=21).map(|i| format!("s{i}")));
    let p = load::LoadParams {
        path: "data/cmapss_fd001/train_FD001.txt".into(),
        format: load::Format::Whitespace,
        columns: Some(names),
        header: None,
        separator: b',',
        decimal_comma: false,
        null_values: Vec::new(),
        roles: Roles {
            timestamp: Some("cycle".into()),
            entity: Some("unit".into()),
            label: None,
        },
        time: Default::default(),
        file_column: None,
        skip_rows: 0,
        comment: None,
        select: None,
        non_finite: Default::default(),
    };
    let (mut ctx, _rx) = StepContext::detached(&repo(), Vec::new());
    load::run(&p, &mut ctx).unwrap().tables.remove(0).1
}

/// pipelines/cmapss.yaml's rolling features and RUL label on NASA C-MAPSS FD001, engines 1 and
/// 50, against tests/fixtures/cmapss_features_pandas.csv (pandas 3.1.1, made by the script of
/// the same name: `groupby("unit").rolling(w, min_periods=1).mean()/.std()`).
#[test]
fn cmapss_features_match_pandas() {
    features_match_fixture(
        "{columns: [s2, s11, s21], rolling: {windows: [5, 15], stats: [mean, std]}, label: {from-rul: true, horizon: 30, name: failure_within_30}, drop-na: false}",
        "cmapss_features_pandas.csv",
    );
}

/// `relative` on FD001, engines 1 and 50, against tests/fixtures/cmapss_relative_pandas.csv
/// (pandas 3.1.2, made by the script of the same name: each value minus, and over,
/// `groupby("unit").expanding().mean()` and `.rolling(10, min_periods=1).mean()`).
#[test]
fn cmapss_relative_features_match_pandas() {
    features_match_fixture(
        "{columns: [s2, s11], relative: {to: [expanding, 10], as: [minus, over]}, drop-na: false}",
        "cmapss_relative_pandas.csv",
    );
}

/// The `feature` step of `spec` on FD001, engines 1 and 50, has every column of the fixture,
/// to 1e-9 relative.
fn features_match_fixture(spec: &str, fixture: &str) {
    let loaded = cmapss_fd001();
    let spec = super::parse_with(spec, feature::parse);
    let (mut ctx, _rx) = StepContext::detached(&repo(), vec![("load/frame".into(), loaded)]);
    let Table { frame: ours, .. } = feature::run(&spec, &mut ctx).unwrap().tables.remove(0).1;
    let units = column_f64(&ours, "unit").unwrap();
    let mask: BooleanChunked = units.iter().map(|u| *u == 1.0 || *u == 50.0).collect();
    let ours = ours.filter(&mask).unwrap();

    let fixture = repo().join("tests/fixtures").join(fixture);
    let expected = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(fixture))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(ours.height(), expected.height(), "rows of engines 1 and 50");
    for name in expected.get_column_names() {
        let (a, b) = (column_f64(&ours, name).unwrap(), column_f64(&expected, name).unwrap());
        for (row, (x, y)) in a.iter().zip(&b).enumerate() {
            let same = (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * y.abs().max(1.0);
            assert!(same, "{name} row {row}: pmflow {x}, pandas {y}");
        }
    }
}
