//! The seam between the file format and the step kinds it names. The format checks every key it
//! owns (`id`, `kind`, `needs`, `retries`, `timeout-secs`) and hands each step's `kind` and
//! `with:` to a catalog it does not know (`steps::Builtin` in pmflow).

use std::fmt::Debug;

use super::fields::Fields;

pub trait StepCatalog: Debug + Clone + Send + Sync + 'static {
    /// Which kind a step is, as the catalog names it.
    type Kind: Debug + Copy + PartialEq + Send + Sync + 'static;
    /// A step's checked `with:` parameters.
    type Params: Debug + Clone + PartialEq + Send + Sync + 'static;

    /// Every kind's name, in the order `validate` lists them.
    fn kind_names() -> Vec<&'static str>;
    fn kind(name: &str) -> Option<Self::Kind>;
    /// Reads the `with:` mapping of a step of `kind`; None after reporting problems to `with`.
    fn parse(kind: Self::Kind, with: &mut Fields) -> Option<Self::Params>;

    /// What a step with `params` lacks among the settings of its ancestors (`ancestors`), as
    /// what to tell the user; None: nothing. Checked by `validate`, so a pipeline that every
    /// run would fail is refused at the step's line.
    fn missing_upstream(_params: &Self::Params, _ancestors: &[&Self::Params]) -> Option<&'static str> {
        None
    }

    /// What a step with `params` names among the tables of the steps under its `needs`
    /// (`needs`: their ids and settings) that they do not give, as messages; checked by
    /// `validate`.
    fn unknown_inputs(_params: &Self::Params, _needs: &[(&str, &Self::Params)]) -> Vec<String> {
        Vec::new()
    }

    /// Whether a step with `params` gives a drift verdict (what `schedule.when: drift` reads).
    fn judges_drift(_params: &Self::Params) -> bool {
        false
    }
}
