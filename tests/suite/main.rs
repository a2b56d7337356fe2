//! The test suite, one binary (each extra test binary would link the whole stack again).

mod common;
mod graph_load;
mod walks;
mod backends;
mod cli;
mod splits;
mod metrics;
mod baselines;
mod training;
mod ui_app;
mod ui_training;
mod ui_teaching;
