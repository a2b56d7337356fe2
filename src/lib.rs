//! PinSage Explorer: PinSage (Ying et al., KDD 2018) as a library — graphs, random-walk
//! neighbourhoods, the model and its trainer, inference and evaluation — plus the egui explorer.
//!
//! See ARCHITECTURE.md for the code map and the rules between modules.

pub mod bench;
pub mod graph;
pub mod split;
pub mod features;
pub mod memory;
pub mod baselines;
pub mod load;
pub mod synthetic;
pub mod walk;
pub mod eval;
pub mod infer;
pub mod model;
pub mod sampler;
pub mod train;
pub mod export;
pub mod jobs;
pub mod app;
pub mod ablation;
pub mod explain;
pub mod projection;
pub mod lightgcn;
pub mod retrieval;
