//! Strong simple non-neural baselines for board → pin recommendation: item–item cosine kNN over all
//! co-occurrences ([`ItemKnn`]) and the closed-form linear autoencoder EASE^R ([`Ease`], Steck 2019).
//!
//! Both implement [`Scorer`], so they run through the same all-ranking (board) and pin-to-pin
//! protocols as the trained models. `X` is the board × pin 0/1 training matrix throughout.
//!
//! * [`ItemKnn`] never materialises the n × n similarity matrix: each query walks the graph
//!   (board's pins → their boards → those boards' pins), so it costs O(edges) memory.
//! * [`Ease`] needs dense n × n matrices; [`Ease::fit`] and [`fit_ease_best`] estimate their memory
//!   before allocating anything large and refuse with [`BaselineError::TooLarge`] when over budget.

use thiserror::Error;

use crate::eval::Scorer;
use crate::graph::Graph;

const MIB: f64 = 1024.0 * 1024.0;

/// Why a baseline could not be fitted.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum BaselineError {
    /// EASE's dense matrices would not fit in the memory budget.
    #[error(
        "EASE on {pins} pins needs about {:.1} MiB but the memory budget is {:.1} MiB; raise the budget, \
         subsample or prune the pins (EASE memory grows with pins²), or use ItemKnn, which needs no dense matrix",
        *.need_bytes as f64 / MIB,
        *.budget_bytes as f64 / MIB
    )]
    TooLarge { pins: usize, need_bytes: u64, budget_bytes: u64 },
    /// λ must be positive and finite (it is what makes XᵀX + λI invertible).
    #[error("EASE λ must be a positive finite number, got {0}")]
    BadLambda(f32),
    /// [`fit_ease_best`] was given no λ to try.
    #[error("no EASE λ values to try")]
    NoLambdas,
    /// The allocator refused a dense matrix even though it was within the budget.
    #[error("EASE could not allocate {:.1} MiB; lower the memory budget to what is really free", *.bytes as f64 / MIB)]
    Alloc { bytes: u64 },
    /// The Cholesky factorisation met a non-positive pivot (rounding with a tiny λ).
    #[error("EASE: XᵀX + λI is not numerically positive definite at λ = {lambda} (pivot {index}); try a larger λ")]
    NotPositiveDefinite { lambda: f32, index: usize },
}

mod ease;
mod knn;

pub use self::ease::*;
pub use self::knn::*;

/// EASE^R's λ when there is no validation split to choose it on.
pub const DEFAULT_EASE_LAMBDA: f32 = 500.0;

/// One baseline's test metrics (None when it could not run, with the reason in `note`).
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineResult {
    /// The key in `eval --baselines --json` (`mostpop`, `itemknn`, `ease`, `visual_only`).
    pub key: &'static str,
    pub metrics: Option<crate::eval::Metrics>,
    pub note: Option<String>,
    /// EASE^R's λ, where it ran.
    pub lambda: Option<f32>,
}

impl BaselineResult {
    /// The name shown beside the model's bars.
    pub fn title(&self) -> &'static str {
        match self.key {
            "mostpop" => "MostPopular",
            "itemknn" => "ItemKNN",
            "ease" => "EASE^R",
            "visual_only" => "visual only",
            other => other,
        }
    }
}

/// MostPopular, ItemKNN, EASE^R (λ chosen among `lambdas` on the validation split, or
/// [`DEFAULT_EASE_LAMBDA`] without one; refused above `budget_bytes`) and, with features, visual
/// only: each fitted on the training edges and evaluated on the test edges (`pinsage eval
/// --baselines` and the app's Results view).
pub fn evaluate_baselines(g: &Graph, seed: u64, lambdas: &[f32], budget_bytes: u64) -> Vec<BaselineResult> {
    use crate::eval::{HIT_K, MAX_PIN_PAIRS, PopularityScorer, VisualScorer, evaluate_on, ranking_metrics_on};
    use crate::graph::Split;
    let test = |s: &dyn Scorer| evaluate_on(g, s, HIT_K, MAX_PIN_PAIRS, seed, Split::Test);
    let row = |key, metrics, note: Option<String>| BaselineResult { key, metrics: Some(metrics), note, lambda: None };
    let mut rows = vec![
        row("mostpop", test(&PopularityScorer::new(g)), None),
        row("itemknn", test(&ItemKnn::new(g)), Some("cosine item-item over all co-occurrences".into())),
    ];
    let ease = if g.n_validation_edges() > 0 {
        fit_ease_best(g, lambdas, budget_bytes, |e| ranking_metrics_on(g, e, 20, Split::Validation).0)
            .map(|(e, l, _)| (e, l, format!("λ {l} chosen on the validation split")))
    } else {
        Ease::fit(g, DEFAULT_EASE_LAMBDA, budget_bytes)
            .map(|e| (e, DEFAULT_EASE_LAMBDA, format!("λ {DEFAULT_EASE_LAMBDA}: no validation split to choose it on")))
    };
    rows.push(match ease {
        Ok((e, l, note)) => BaselineResult { key: "ease", metrics: Some(test(&e)), note: Some(note), lambda: Some(l) },
        Err(err) => BaselineResult { key: "ease", metrics: None, note: Some(err.to_string()), lambda: None },
    });
    if let Some(v) = VisualScorer::new(g) {
        rows.push(row("visual_only", test(&v), None));
    }
    rows
}
