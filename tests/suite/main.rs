//! The test suite, one binary (each extra test binary would link the whole stack again).

mod ann;
mod backends;
mod baselines;
mod cli;
mod common;
mod embed_map;
mod engine;
mod graph_load;
mod loader_props;
mod loading;
mod memory_budget;
mod metrics;
mod parallel;
mod powerlaw;
mod recommend;
mod run_folders;
mod splits;
mod tables;
mod training;
mod ui_app;
mod ui_data;
mod ui_stress;
mod ui_teaching;
mod ui_training;
mod ui_whatif;
mod walks;
