//! How a metric is named where pipelines and commands refer to one (a promotion gate,
//! `compare --metric`, `runs list --where`): by its full name (`evaluate.f1`), or by the end of
//! it after a dot (`f1`) when only one metric ends so.

/// Why a name stands for no one metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("no metric `{0}`")]
    Missing(String),
    /// The metrics the suffix matches, listed so the user can name one in full.
    #[error("`{name}` matches several metrics ({}); name one in full", .all.join(", "))]
    Ambiguous { name: String, all: Vec<String> },
}

impl MetricError {
    /// The error for a suffix that several metrics end with.
    pub fn ambiguous(name: &str, all: &[&str]) -> MetricError {
        MetricError::Ambiguous {
            name: name.to_string(),
            all: all.iter().map(|a| a.to_string()).collect(),
        }
    }
}

/// What a name stands for among a run's metric names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named<'a> {
    /// The one metric it names.
    One(&'a str),
    /// No metric is called so or ends so.
    None,
    /// Several end with `.name`; a full name is needed.
    Several(Vec<&'a str>),
}

/// The metric `name` names among `names`: an exact match first, else the only one ending in
/// `.name`.
pub fn find<'a>(name: &str, names: impl IntoIterator<Item = &'a String>) -> Named<'a> {
    let tail = format!(".{name}");
    let mut ending: Vec<&'a str> = Vec::new();
    for n in names {
        if n == name {
            return Named::One(n);
        }
        if n.ends_with(&tail) {
            ending.push(n);
        }
    }
    match ending.len() {
        0 => Named::None,
        1 => Named::One(ending[0]),
        _ => Named::Several(ending),
    }
}

/// The full metric name `name` stands for among `names`: itself, or the one name ending in
/// `.name`. An error lists the candidates when the suffix is ambiguous.
pub fn resolve<'a>(name: &str, names: impl IntoIterator<Item = &'a String>) -> Result<String, MetricError> {
    match find(name, names) {
        Named::One(full) => Ok(full.to_string()),
        Named::None => Err(MetricError::Missing(name.to_string())),
        Named::Several(all) => Err(MetricError::ambiguous(name, &all)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_win_and_suffixes_must_be_unique() {
        let names = [
            "evaluate.f1".to_string(),
            "val.f1".to_string(),
            "f1".to_string(),
            "train.loss".to_string(),
        ];
        assert_eq!(find("f1", &names), Named::One("f1"), "an exact name wins");
        assert_eq!(find("loss", &names), Named::One("train.loss"));
        assert_eq!(find("pr_auc", &names), Named::None);
        assert_eq!(find("f1", &names[..2]), Named::Several(vec!["evaluate.f1", "val.f1"]));
    }

    #[test]
    fn ambiguous_suffixes_list_the_candidates() {
        let names = ["evaluate.f1".to_string(), "val.f1".to_string()];
        let err = resolve("f1", &names).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`f1` matches several metrics (evaluate.f1, val.f1); name one in full"
        );
        assert_eq!(resolve("val.f1", &names).unwrap(), "val.f1");
        assert_eq!(resolve("pr_auc", &names).unwrap_err().to_string(), "no metric `pr_auc`");
    }
}
