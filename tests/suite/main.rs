//! The test suite, one binary (each extra test binary would link the whole stack again).

mod backends;
mod baselines;
mod cli;
mod common;
mod graph_load;
mod metrics;
mod splits;
mod training;
mod ui_app;
mod ui_teaching;
mod ui_training;
mod walks;
