//! The step kinds pmflow knows, as a value: each kind's name in pipeline files, the names it
//! was known by before (still read), and what it does besides writing its outputs. The
//! built-in kinds today ([`Catalog::builtin`]); kinds users declare are to join the same value,
//! so every lookup by name goes through one place.

use std::sync::OnceLock;

use super::ports::Effect;
use super::StepKind;

/// One kind as the catalog lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct KindEntry {
    pub kind: StepKind,
    /// Its name in pipeline files (`kind: train`).
    pub name: &'static str,
    /// Earlier names, read as this one: pipelines and registries written before a rename.
    pub aliases: &'static [&'static str],
    pub effect: Effect,
}

/// The kinds a pipeline may use, in the order `validate` lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    entries: Vec<KindEntry>,
}

impl Catalog {
    /// The kinds built into pmflow.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let entry = |kind, name, effect| KindEntry {
                kind,
                name,
                aliases: &[],
                effect,
            };
            Catalog {
                entries: vec![
                    entry(StepKind::Load, "load", Effect::None),
                    entry(StepKind::Clean, "clean", Effect::None),
                    entry(StepKind::Feature, "feature", Effect::None),
                    entry(StepKind::Split, "split", Effect::None),
                    entry(StepKind::Smote, "smote", Effect::None),
                    KindEntry {
                        aliases: &["train-lstm"],
                        ..entry(StepKind::Train, "train", Effect::None)
                    },
                    entry(StepKind::Evaluate, "evaluate", Effect::ModelQuality),
                    entry(StepKind::Drift, "drift", Effect::DriftVerdict),
                    entry(StepKind::Register, "register", Effect::RegisterModel),
                    entry(StepKind::Predict, "predict", Effect::None),
                    entry(StepKind::Command, "command", Effect::None),
                ],
            }
        })
    }

    /// Every kind's name, in listing order (aliases left out).
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    /// The kind a pipeline file names, by its name or an earlier one.
    pub fn find(&self, name: &str) -> Option<&KindEntry> {
        self.entries
            .iter()
            .find(|e| e.name == name || e.aliases.contains(&name))
    }

    /// The entry of `kind`.
    pub fn entry(&self, kind: StepKind) -> Option<&KindEntry> {
        self.entries.iter().find(|e| e.kind == kind)
    }

    /// The names of the kinds with `effect` (for code that knows a recorded step only by its
    /// kind's name, as `compare` does).
    pub fn names_with(&self, effect: Effect) -> Vec<&'static str> {
        self.entries
            .iter()
            .filter(|e| e.effect == effect)
            .map(|e| e.name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_found_by_name_or_former_name_and_listed_once() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.find("train").map(|e| e.kind), Some(StepKind::Train));
        assert_eq!(catalog.find("train-lstm").map(|e| e.kind), Some(StepKind::Train));
        assert!(catalog.find("lstm").is_none());
        assert!(!catalog.names().contains(&"train-lstm"), "aliases are read, not listed");
        assert_eq!(catalog.names_with(Effect::ModelQuality), ["evaluate"]);
        for name in catalog.names() {
            let entry = catalog.find(name).unwrap();
            assert_eq!(catalog.entry(entry.kind).unwrap().name, name, "one entry per kind");
        }
    }
}
