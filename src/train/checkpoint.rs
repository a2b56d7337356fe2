//! The run folder as the trainer writes and reads it: atomic model, optimizer and progress
//! checkpoints, the model a run starts from, memory checks for a model, and loading a run's model
//! or embeddings back.

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::events::EventSink;
use super::{INFER_CHUNK, Mode, TrainConfig, TrainError, TrainEvent};
use crate::graph::Graph;
use crate::infer::{Embeddings, embed_all};
use crate::model::PinSage;
use crate::sampler::{NodeNeighbourhoods, try_node_neighbourhoods};

/// Replaces `path` atomically: `write` fills a temp file beside it, which is then renamed over it.
pub(super) fn replace_atomically<E: std::fmt::Debug>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), TrainError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write(&tmp).map_err(|e| TrainError::Io(format!("{}: {e:?}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))
}

/// Writes `bytes` to `path` atomically.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    replace_atomically(path, |tmp| std::fs::write(tmp, bytes))
}

/// Saves the model atomically as `<dir>/<name>.bpk`.
pub(super) fn save_model<M: Module>(model: &M, dir: &Path, name: &str) -> Result<PathBuf, TrainError> {
    let final_path = dir.join(format!("{name}.bpk"));
    replace_atomically(&final_path, |tmp| model.clone().save_file(tmp))?;
    Ok(final_path)
}

/// Writes a step's own optimizer state into a checkpoint folder (`train::steps::Step::save_state`).
pub(super) type SaveState<'a> = &'a dyn Fn(&Path) -> Result<(), TrainError>;

/// Writes the epoch's checkpoint (model and Adam's moments) and progress atomically and reports it.
pub(super) fn checkpoint<M: Module>(
    (model, optim, save_state): (&M, &ModuleOptimizer, SaveState<'_>),
    dir: &Path,
    epochs_done: usize,
    best: Option<(usize, f64)>,
    sink: &mut EventSink,
) -> Result<(), TrainError> {
    let path = save_model(model, dir, "checkpoint")?;
    replace_atomically(&dir.join("optimizer.bpk"), |tmp| optim.save(tmp))?;
    save_state(dir)?;
    let run_state = RunState { epochs_done, best_epoch: best.map(|b| b.0), best_recall: best.map_or(0.0, |b| b.1) };
    let state = serde_json::to_string(&run_state).map_err(|e| TrainError::Config(e.to_string()))?;
    write_atomic(&dir.join("state.json"), state.as_bytes())?;
    sink.emit(TrainEvent::Checkpoint { epoch: epochs_done, path: path.display().to_string() });
    Ok(())
}

/// The model and optimizer a run starts from: fresh, or on `resume` the last checkpoint with
/// Adam's moments (a checkpoint written before they were saved resumes with fresh moments).
pub(super) fn start_state<M: Module>(
    model: M,
    cfg: &TrainConfig,
    resume_from: Option<&Path>,
) -> Result<(M, ModuleOptimizer), TrainError> {
    let optim = cfg.optimizer();
    let Some(dir) = resume_from else { return Ok((model, optim)) };
    let model = crate::run_folder::load_weights(model, &dir.join("checkpoint.bpk"), &model_shape(cfg))?;
    let optim_path = dir.join("optimizer.bpk");
    let optim = if optim_path.is_file() { crate::run_folder::load_optimizer(optim, &optim_path)? } else { optim };
    Ok((model, optim))
}

/// The saved model of a run folder: the final `model.bpk`, else the last `checkpoint.bpk`.
pub(super) fn run_model_path(dir: &Path) -> Result<PathBuf, TrainError> {
    [dir.join("model.bpk"), dir.join("checkpoint.bpk")]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| TrainError::Io(format!("{}: no model.bpk or checkpoint.bpk", dir.display())))
}

/// The model's shape as the config describes it, for messages about saved weights that do not fit.
pub(super) fn model_shape(cfg: &TrainConfig) -> String {
    match cfg.mode {
        Mode::Pinsage => format!(
            "PinSage, input_dim {}, hidden_dim {}, id_embedding {}, as config.json says, on the run's graph",
            cfg.input_dim, cfg.hidden_dim, cfg.id_embedding
        ),
        Mode::Lightgcn => format!("LightGCN, hidden_dim {}, as config.json says, on the run's graph", cfg.hidden_dim),
    }
}

/// Bytes the model of `cfg` takes on graph `g`: its node table (f32) and dense layers, four times
/// over when `training` (weights, gradients and Adam's two moments; LightGCN also keeps each
/// layer's propagated table), else twice (the model and the record it is loaded from).
pub fn model_bytes(cfg: &TrainConfig, g: &Graph, training: bool) -> u64 {
    let nodes = g.n_pins() as u64 + g.n_boards() as u64;
    let (h, d_in) = (cfg.hidden_dim as u64, cfg.input_dim as u64);
    let (weights, activations) = match cfg.mode {
        Mode::Pinsage => {
            let table = if cfg.id_embedding { crate::memory::bytes(nodes, 4 * d_in) } else { 0 };
            let features = g.features.as_ref().map_or(0, |f| f.dim as u64);
            let dense = 4 * (features * d_in + 2 * (d_in + h) * h + 4 * h * h);
            (table.saturating_add(dense), 0)
        }
        Mode::Lightgcn => {
            let table = crate::memory::bytes(nodes, 4 * h);
            (table, if training { table.saturating_mul(2 * (cfg.lightgcn_layers as u64 + 1)) } else { 0 })
        }
    };
    weights.saturating_mul(if training { 4 } else { 2 }).saturating_add(activations)
}

/// Fails when the model of `cfg` on `g` would not fit the memory budget.
pub(super) fn check_model_memory(
    cfg: &TrainConfig,
    g: &Graph,
    training: bool,
) -> Result<(), crate::memory::OutOfMemory> {
    let what = if training { "the model with its gradients and Adam's moments" } else { "the model" };
    crate::memory::check(model_bytes(cfg, g, training), &format!("{what} ({} nodes)", g.n_pins() + g.n_boards()))
}

/// Fails when the model's embedding table would be one tensor larger than a GPU (wgpu) buffer
/// binding may be ([`crate::model::MAX_GPU_TENSOR_BYTES`], 2 GiB): e.g. 64-d id embeddings for
/// more than 8.4 M nodes. Such a model would fail at its first step; the message says what fits.
pub fn check_table_fits_device(cfg: &TrainConfig, g: &Graph, device: &Device) -> Result<(), TrainError> {
    let nodes = u64::from(g.n_pins()) + u64::from(g.n_boards());
    let (width, field) = match cfg.mode {
        Mode::Pinsage if cfg.id_embedding => (cfg.input_dim, "input_dim"),
        Mode::Pinsage => return Ok(()),
        Mode::Lightgcn => (cfg.hidden_dim, "hidden_dim"),
    };
    let bytes = nodes * width as u64 * 4;
    let limit = crate::model::MAX_GPU_TENSOR_BYTES;
    if bytes <= limit || !crate::model::fused_pool::runs_kernels(device) {
        return Ok(());
    }
    let fits = limit / (nodes * 4);
    let features = if cfg.mode == Mode::Pinsage { ", train on pin features alone (`id_embedding: false`)" } else { "" };
    Err(TrainError::Config(format!(
        "the id-embedding table ({nodes} nodes × {width} × 4 bytes = {:.2} GiB) is larger than one GPU tensor may be \
         (2 GiB); use {field} ≤ {fits}{features}, or the CPU",
        bytes as f64 / (1u64 << 30) as f64
    )))
}

/// A run folder's config (checked; see [`crate::run_folder::load_run_config`]) and its notes.
pub fn run_config(dir: &Path) -> Result<crate::run_folder::LoadedConfig, TrainError> {
    Ok(crate::run_folder::load_run_config(dir)?)
}

/// Loads a PinSage model saved by a run (its `model.bpk` or `checkpoint.bpk`), for graph `g`.
pub fn load_model(dir: &Path, g: &Graph, device: &Device) -> Result<(TrainConfig, PinSage), TrainError> {
    let cfg = run_config(dir)?.config;
    if cfg.mode != Mode::Pinsage {
        return Err(TrainError::Config(format!("{}: a {:?} run has no PinSage model", dir.display(), cfg.mode)));
    }
    let path = run_model_path(dir)?;
    let model_cfg = cfg.model_config(g);
    model_cfg.validate()?;
    check_model_memory(&cfg, g, false)?;
    check_table_fits_device(&cfg, g, device)?;
    let model = crate::run_folder::load_weights(model_cfg.init(device), &path, &model_shape(&cfg))?;
    Ok((cfg, model))
}

/// Progress saved beside the checkpoint.
#[derive(Serialize, Deserialize, Default)]
pub(super) struct RunState {
    pub(super) epochs_done: usize,
    /// The best-validation epoch so far (its model is `model.bpk`) and its recall@20.
    #[serde(default)]
    pub(super) best_epoch: Option<usize>,
    #[serde(default)]
    pub(super) best_recall: f64,
}

/// Every node's embedding from a run folder, whichever the mode (PinSage runs are embedded
/// layer-wise over `neighbourhoods` when the caller has already built the run's, else over ones
/// built here; LightGCN runs propagate their table).
pub fn run_embeddings(
    dir: &Path,
    g: &Graph,
    device: &Device,
    neighbourhoods: Option<&NodeNeighbourhoods>,
) -> Result<(TrainConfig, Embeddings), TrainError> {
    let cfg = run_config(dir)?.config;
    match cfg.mode {
        Mode::Pinsage => {
            let (cfg, model) = load_model(dir, g, device)?;
            let built;
            let nb = match neighbourhoods {
                Some(nb) => nb,
                None => {
                    built = try_node_neighbourhoods(g, cfg.neighbourhood, &cfg.walk)?;
                    &built
                }
            };
            let emb = embed_all(&model, nb, g.features.as_ref(), device, INFER_CHUNK, |_, _| {})?;
            Ok((cfg, emb))
        }
        Mode::Lightgcn => {
            let path = run_model_path(dir)?;
            // The propagated layers are held while their mean is taken.
            let layers = cfg.lightgcn_layers as u64 + 2;
            crate::memory::check(
                model_bytes(&cfg, g, false).saturating_mul(layers),
                "the LightGCN model and its propagated layers",
            )?;
            let init = crate::lightgcn::LightGcnConfig::new(g.n_pins() as usize, g.n_boards() as usize)
                .with_dim(cfg.hidden_dim)
                .with_layers(cfg.lightgcn_layers)
                .init(device);
            let model = crate::run_folder::load_weights(init, &path, &model_shape(&cfg))?;
            let adj = crate::lightgcn::Adjacency::new(g, device);
            let emb = model.embeddings(&adj, g.n_pins() as usize)?;
            Ok((cfg, emb))
        }
    }
}

/// The model a run trains and its optimizer, fresh or (on `resume`) from the last checkpoint,
/// after checking that it fits in memory; saves its `model_config.json` into the run folder.
pub(super) fn start_model<M: Module, C: burn::config::Config>(
    init: impl FnOnce() -> M,
    model_cfg: &C,
    cfg: &TrainConfig,
    g: &Graph,
    out: Option<&Path>,
    resume: bool,
) -> Result<(M, ModuleOptimizer), TrainError> {
    check_model_memory(cfg, g, true)?;
    let (model, optim) = start_state(init(), cfg, out.filter(|_| resume))?;
    if let Some(dir) = out {
        model_cfg.save(dir.join("model_config.json")).map_err(|e| TrainError::Io(format!("model_config.json: {e}")))?;
    }
    Ok((model, optim))
}
