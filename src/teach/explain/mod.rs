//! Computations behind the teaching views, returning plain data: Algorithm 1 traced step by step
//! (shapes and values of every intermediate tensor), the curriculum's negatives and their losses
//! under the current model, and importance vs uniform pooling of one neighbourhood.
//!
//! Nothing here knows egui; the views ask for these through background jobs. One file per view:
//! `convolve`, `curriculum`, `pooling`, `walks` (walks and the graph's ego slice).

mod convolve;
mod curriculum;
mod pooling;
mod walks;

use std::sync::Arc;

use burn::prelude::*;

use crate::graph::Graph;
use crate::sampler::try_node_neighbourhoods;
use crate::train::TrainConfig;
use crate::train::bundle::ModelBundle;

/// Why an explanation could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("pin {pin} is not in the graph ({n_pins} pins)")]
    NoSuchPin { pin: u32, n_pins: u32 },
    #[error("the model does not match the graph: {0}")]
    Mismatch(String),
    #[error("the device failed: {0}")]
    Device(String),
    #[error(transparent)]
    Memory(#[from] crate::memory::OutOfMemory),
}

/// A freshly initialised (untrained) model for `g` on the CPU, with its neighbourhoods; fails
/// when they would not fit the memory budget.
pub fn untrained_bundle(g: &Graph, config: &TrainConfig) -> Result<ModelBundle, ExplainError> {
    let device = Device::flex();
    crate::memory::check(crate::train::model_bytes(config, g, false), "the untrained model")?;
    let model = config.model_config(g).init(&device);
    let nb = Arc::new(try_node_neighbourhoods(g, config.neighbourhood, &config.walk)?);
    Ok(ModelBundle {
        config: config.clone(),
        model,
        neighbourhoods: nb,
        device,
        embeddings: None,
        origin: "untrained (random weights)".into(),
    })
}

pub use self::convolve::*;
pub use self::curriculum::*;
pub use self::pooling::*;
pub use self::walks::*;
