//! The data layer: pin–board graphs, their loaders, train/validation/test splits, pin features,
//! synthetic graphs, power-law graphs of any size (`powerlaw`) and the memory checks made before
//! large allocations. Knows nothing of walks,
//! models, training or the UI.

pub mod features;
pub mod fuzz;
pub mod graph;
pub mod huge_pages;
pub mod load;
pub mod memory;
pub mod powerlaw;
pub mod split;
pub mod synthetic;
