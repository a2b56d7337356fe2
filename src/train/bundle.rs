//! A model with what it needs to embed its graph ([`ModelBundle`]): what the app holds as "the
//! model" and what the teaching views compute with. Loaded from a run folder by [`bundle_from_run`].

use std::path::Path;
use std::sync::Arc;

use super::{TrainConfig, load_model};
use crate::graph::Graph;
use crate::infer::Embeddings;
use crate::model::PinSage;
use crate::sampler::{NodeNeighbourhoods, try_node_neighbourhoods};

/// A trained (or freshly initialised) model with what it needs to embed its graph.
#[derive(Clone)]
pub struct ModelBundle {
    pub config: TrainConfig,
    pub model: PinSage,
    pub neighbourhoods: Arc<NodeNeighbourhoods>,
    pub device: burn::prelude::Device,
    pub embeddings: Option<Arc<Embeddings>>,
    /// Where it came from ("trained in the app", a run folder, "untrained").
    pub origin: String,
}

/// Builds a model bundle for `graph` from a run folder (its config, model and neighbourhoods).
/// The error is the message to show.
pub fn bundle_from_run(run: &Path, graph: &Graph, device: burn::prelude::Device) -> Result<ModelBundle, String> {
    let (config, model) = load_model(run, graph, &device).map_err(|e| e.to_string())?;
    let nb = try_node_neighbourhoods(graph, config.neighbourhood, &config.walk).map_err(|e| e.to_string())?;
    let nb = Arc::new(nb);
    Ok(ModelBundle { config, model, neighbourhoods: nb, device, embeddings: None, origin: run.display().to_string() })
}
