//! PinSage Explorer: PinSage (Ying et al., KDD 2018) as a library — graphs, random-walk
//! neighbourhoods, the model and its trainer, inference and evaluation — plus the egui explorer.
//!
//! See ARCHITECTURE.md for the code map and the rules between modules.

pub mod ablation;
pub mod ann;
pub mod app;
pub mod baselines;
pub mod bench;
pub mod eval;
pub mod explain;
pub mod export;
pub mod features;
pub mod graph;
pub mod infer;
pub mod jobs;
pub mod lightgcn;
pub mod load;
pub mod memory;
pub mod model;
pub mod powerlaw;
pub mod projection;
pub mod recommend;
pub mod retrieval;
pub mod run_folder;
pub mod sampler;
pub mod scale;
pub mod split;
pub mod synthetic;
pub mod train;
pub mod walk;
