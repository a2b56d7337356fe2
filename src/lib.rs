//! PinSage Explorer: PinSage (Ying et al., KDD 2018) as a library — graphs, random-walk
//! neighbourhoods, the model and its trainer, inference and evaluation — plus the egui explorer.
//!
//! The folders are the layers, in dependency order (each may use only those before it):
//! `data` → `walk` → `sampler` → `model` → `train` → `eval` → `teach` → `app`.
//! See ARCHITECTURE.md for the code map and the rules between modules.

pub mod app;
pub mod data;
pub mod defaults;
pub mod eval;
pub mod model;
pub mod names;
pub mod sampler;
pub mod teach;
pub mod train;
pub mod walk;

// The stable facade: the module paths from before the layered layout (`crate::graph`,
// `crate::load`, `crate::explain`, …) keep working, for code inside the crate and for users of the
// library. New code may use either path; these names are not going away.
pub use app::jobs;
pub use data::{features, graph, huge_pages, load, memory, powerlaw, split, synthetic};
pub use eval::{ablation, ann, baselines, bench, export, scale};
pub use model::{infer, lightgcn, recommend, retrieval};
pub use teach::{edits, embed_map, explain, projection};
pub use train::run_folder;
