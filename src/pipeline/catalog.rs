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

    /// The kinds of which a step with `params` needs one among its ancestors, with what to
    /// tell the user when none is there; None: it needs none. Checked by `validate`, so a
    /// pipeline that every run would fail is refused at the step's line.
    fn needs_upstream(_params: &Self::Params) -> Option<(Vec<Self::Kind>, &'static str)> {
        None
    }
}
