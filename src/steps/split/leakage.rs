//! A last look for the label in disguise before the data is split for modelling: a 0/1 column
//! that is 1 almost only on failure rows (AI4I's failure-mode flags, a `failure` column written
//! after the fact) lets a model read the answer instead of learning it.

use polars::prelude::*;

use crate::frame::{column_f64, is_flag, numeric_features, Roles};

/// Rows a flag must fire on before it is judged, and the share of them that must be failures.
const MIN_FIRES: usize = 5;
const MIN_PRECISION: f64 = 0.95;

/// One warning per feature flag that fires almost only with the label (at least 95% of its 1s
/// are positives, and it covers at least 1% of the positives). None without a label.
pub fn label_in_disguise(frame: &DataFrame, roles: &Roles) -> PolarsResult<Vec<String>> {
    let Some(label) = &roles.label else {
        return Ok(Vec::new());
    };
    let labels = column_f64(frame, label)?;
    let positives = labels.iter().filter(|v| **v == 1.0).count();
    let mut warnings = Vec::new();
    for name in numeric_features(frame, roles) {
        let column = frame.column(&name)?;
        if !is_flag(column) {
            continue;
        }
        let values = column_f64(frame, &name)?;
        let fires = values.iter().filter(|v| **v == 1.0).count();
        let on_failures = values
            .iter()
            .zip(&labels)
            .filter(|(v, l)| **v == 1.0 && **l == 1.0)
            .count();
        let precision = on_failures as f64 / fires.max(1) as f64;
        if fires >= MIN_FIRES && precision >= MIN_PRECISION && on_failures * 100 >= positives {
            warnings.push(format!(
                "column `{name}` is 1 on {fires} rows and {on_failures} of them are failures (label `{label}`): a flag that fires only with failures is usually the label in disguise, recorded after the fact; drop it in `feature` unless it is known before a failure happens"
            ));
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_that_fire_only_with_failures_are_named() {
        let label = [0i64, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0];
        let frame = df!(
            "label" => label,
            // A failure-mode flag: 1 on five of the six failures and nowhere else.
            "mode_flag" => [0i64, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0],
            // An alarm that also fires on healthy rows: a real signal, not the answer.
            "alarm" => [1i64, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1],
            // A measurement.
            "x" => [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
        )
        .unwrap();
        let roles = Roles {
            label: Some("label".into()),
            ..Default::default()
        };
        let warnings = label_in_disguise(&frame, &roles).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("column `mode_flag` is 1 on 5 rows and 5 of them are failures"));
        let unlabelled = Roles::default();
        assert!(label_in_disguise(&frame, &unlabelled).unwrap().is_empty());
    }
}
