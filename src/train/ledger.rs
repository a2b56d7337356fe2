//! What every training loop carries across epochs: the loss meter, evaluation when due, the
//! best-validation model, early stopping, checkpoints, and the run's ending.

use std::path::Path;

use burn::optim::ModuleOptimizer;
use burn::prelude::*;

use super::checkpoint::{RunState, SaveState, checkpoint, save_model};
use super::events::EventSink;
use super::{EndReason, TrainConfig, TrainError, TrainEvent};
use crate::eval::{EmbeddingScorer, HIT_K, MAX_PIN_PAIRS, Metrics, evaluate_on};
use crate::graph::{Graph, Split};
use crate::infer::Embeddings;

/// The first event of a run.
pub(super) fn started_event(g: &Graph, cfg: &TrainConfig, start_epoch: usize, device: String) -> TrainEvent {
    TrainEvent::Started {
        device,
        epochs: cfg.epochs,
        start_epoch,
        steps_per_epoch: g.n_edges().div_ceil(cfg.batch_size),
        pins: g.n_pins(),
        boards: g.n_boards(),
        edges: g.n_edges(),
    }
}

/// The split a run evaluates on while training: validation when the graph has validation edges
/// (nothing is chosen on the test edges), else test.
pub(super) fn selection_split(g: &Graph) -> Split {
    if g.n_validation_edges() > 0 { Split::Validation } else { Split::Test }
}

/// Both protocols on `split`, with the project's standard settings.
pub fn evaluate_embeddings(g: &Graph, emb: &Embeddings, seed: u64, split: Split) -> Metrics {
    evaluate_on(g, &EmbeddingScorer { emb }, HIT_K, MAX_PIN_PAIRS, seed, split)
}

/// The best-validation epoch so far: its number, recall@20, model and embeddings.
pub(super) struct Best<M> {
    epoch: usize,
    recall: f64,
    model: Option<M>,
    embeddings: Option<Embeddings>,
}

/// What both training loops carry across epochs and do at an epoch's end (evaluate when due,
/// keep the best-validation model, report, checkpoint) and at the run's end (save the model,
/// evaluate it on the test edges, report how it ended).
pub(super) struct Ledger<'a, M> {
    g: &'a Graph,
    cfg: &'a TrainConfig,
    out: Option<&'a Path>,
    pub(super) epochs_done: usize,
    split: Split,
    last_metrics: Option<Metrics>,
    /// Without validation edges: the last epoch's embeddings when it was evaluated (the final
    /// epoch always is), reused as the run's output. With them the best epoch's are kept instead.
    last_embeddings: Option<Embeddings>,
    best: Option<Best<M>>,
    evaluations_since_best: usize,
}

/// One epoch's numbers for its `EpochEnd` event.
pub(super) struct EpochSummary {
    pub(super) epoch: usize,
    pub(super) loss: f32,
    pub(super) epoch_secs: f64,
    pub(super) triplets: usize,
    pub(super) waited_secs: f64,
    pub(super) hard_per_query: usize,
}

/// How a run ended and what it leaves: the model to keep (the best-validation one), its
/// embeddings, and the number of epochs done.
pub(super) struct Ending<M> {
    pub(super) model: Option<M>,
    pub(super) embeddings: Option<Embeddings>,
    pub(super) epochs_done: usize,
}

impl<'a, M: Module> Ledger<'a, M> {
    pub(super) fn new(
        g: &'a Graph,
        cfg: &'a TrainConfig,
        out: Option<&'a Path>,
        start_epoch: usize,
        state: &RunState,
    ) -> Ledger<'a, M> {
        // A resumed run remembers its best epoch; its model is `model.bpk` on disk.
        let best =
            state.best_epoch.map(|epoch| Best { epoch, recall: state.best_recall, model: None, embeddings: None });
        Ledger {
            g,
            cfg,
            out,
            epochs_done: start_epoch - 1,
            split: selection_split(g),
            last_metrics: None,
            last_embeddings: None,
            best,
            evaluations_since_best: 0,
        }
    }

    pub(super) fn due(&self, epoch: usize) -> bool {
        (self.cfg.eval_each_epoch && epoch.is_multiple_of(self.cfg.eval_interval)) || epoch == self.cfg.epochs
    }

    /// Ends an epoch; returns true when early stopping ends the run here.
    pub(super) fn end_epoch(
        &mut self,
        e: EpochSummary,
        (model, optim, save_state): (&M, &ModuleOptimizer, SaveState<'_>),
        sink: &mut EventSink,
        embed: impl Fn(&M) -> Result<Embeddings, crate::infer::InferError>,
    ) -> Result<bool, TrainError> {
        let mut metrics = None;
        let mut stop_early = false;
        self.last_embeddings = None;
        if self.due(e.epoch) {
            let emb = embed(model).map_err(|e| TrainError::Device(e.to_string()))?;
            let m = evaluate_embeddings(self.g, &emb, self.cfg.seed, self.split);
            if self.split == Split::Test {
                self.last_embeddings = Some(emb);
            } else if self.best.as_ref().is_none_or(|b| m.recall_at_20 > b.recall) {
                if let Some(dir) = self.out {
                    save_model(model, dir, "model")?;
                }
                self.best = Some(Best {
                    epoch: e.epoch,
                    recall: m.recall_at_20,
                    model: Some(model.clone()),
                    embeddings: Some(emb),
                });
                self.evaluations_since_best = 0;
            } else {
                self.evaluations_since_best += 1;
                stop_early = self.cfg.patience > 0 && self.evaluations_since_best >= self.cfg.patience;
            }
            self.last_metrics = Some(m.clone());
            metrics = Some(m);
        }
        sink.emit(TrainEvent::EpochEnd {
            epoch: e.epoch,
            loss: e.loss,
            epoch_secs: e.epoch_secs,
            triplets_per_sec: e.triplets as f64 / e.epoch_secs.max(1e-9),
            gpu_wait_share: e.waited_secs / e.epoch_secs.max(1e-9),
            hard_per_query: e.hard_per_query,
            metrics,
        });
        self.epochs_done = e.epoch;
        if let Some(dir) = self.out {
            let best = self.best.as_ref().map(|b| (b.epoch, b.recall));
            checkpoint((model, optim, save_state), dir, self.epochs_done, best, sink)?;
        }
        if stop_early {
            sink.emit(TrainEvent::Note {
                message: format!(
                    "early stop: validation recall@20 has not improved for {} evaluations (best {:.4} at epoch {})",
                    self.evaluations_since_best,
                    self.best.as_ref().map_or(0.0, |b| b.recall),
                    self.best.as_ref().map_or(0, |b| b.epoch)
                ),
            });
        }
        Ok(stop_early)
    }

    /// Unless the run was stopped: saves the final model (without validation edges; with them
    /// `model.bpk` is already the best epoch's), evaluates the kept model on the test edges and
    /// returns it with its embeddings.
    pub(super) fn finish(
        self,
        reason: EndReason,
        model: M,
        sink: &mut EventSink,
        embed: impl Fn(&M) -> Result<Embeddings, crate::infer::InferError>,
    ) -> Result<Ending<M>, TrainError> {
        let device_err = |e: crate::infer::InferError| TrainError::Device(e.to_string());
        let mut metrics = self.last_metrics.clone();
        let mut best_epoch = None;
        let ending = if reason == EndReason::Stopped {
            Ending { model: Some(model), embeddings: None, epochs_done: self.epochs_done }
        } else if self.split == Split::Validation
            && let Some(best) = self.best
        {
            best_epoch = Some(best.epoch);
            let kept = match best.model {
                Some(m) => m,
                // Resumed and never bettered: the best model is the one on disk.
                None => match self.out {
                    Some(dir) => {
                        let path = dir.join("model.bpk");
                        model.try_load_file(&path).map_err(|e| TrainError::Io(format!("{}: {e:?}", path.display())))?
                    }
                    None => model,
                },
            };
            let emb = match best.embeddings {
                Some(e) => e,
                None => embed(&kept).map_err(device_err)?,
            };
            metrics = Some(evaluate_embeddings(self.g, &emb, self.cfg.seed, Split::Test));
            Ending { model: Some(kept), embeddings: Some(emb), epochs_done: self.epochs_done }
        } else {
            if let Some(dir) = self.out {
                save_model(&model, dir, "model")?;
            }
            let emb = match self.last_embeddings {
                Some(emb) => emb,
                None => embed(&model).map_err(device_err)?,
            };
            if metrics.as_ref().is_none_or(|m| m.split != Split::Test) {
                metrics = Some(evaluate_embeddings(self.g, &emb, self.cfg.seed, Split::Test));
            }
            Ending { model: Some(model), embeddings: Some(emb), epochs_done: self.epochs_done }
        };
        sink.emit(TrainEvent::Finished { reason, epochs_done: self.epochs_done, metrics, best_epoch });
        Ok(ending)
    }
}

/// Sums the loss on the device and reads it back only every `every` steps and at an epoch's last
/// step; a non-finite mean ends the run.
pub(super) struct LossMeter {
    every: usize,
    /// When the loss was last read this epoch (`None` before the first read).
    last_read: Option<std::time::Instant>,
    pending: Option<Tensor<1>>,
    since_read: usize,
    sum: f64,
    steps_read: usize,
}

impl LossMeter {
    pub(super) fn new(every: usize) -> LossMeter {
        LossMeter { every, last_read: None, pending: None, since_read: 0, sum: 0.0, steps_read: 0 }
    }

    pub(super) fn add(&mut self, loss: &Tensor<1>) {
        let detached = loss.clone().inner();
        self.pending = Some(match self.pending.take() {
            Some(acc) => acc + detached,
            None => detached,
        });
        self.since_read += 1;
    }

    /// The mean loss since the last read, when a read is due after `step` (1-based): at the
    /// epoch's last step, or after `every` steps, the first time in the epoch at once and then
    /// once `LOSS_READ_INTERVAL_SECS` have passed since the last read.
    pub(super) fn read_if_due(
        &mut self,
        step: usize,
        steps_per_epoch: usize,
        epoch: usize,
        epochs_done: usize,
    ) -> Result<Option<f32>, TrainError> {
        let due = self.since_read >= self.every
            && self.last_read.is_none_or(|t| t.elapsed().as_secs_f64() >= crate::defaults::LOSS_READ_INTERVAL_SECS);
        if !due && step != steps_per_epoch {
            return Ok(None);
        }
        self.read(epoch, step, epochs_done).map(Some)
    }

    pub(super) fn read(&mut self, epoch: usize, step: usize, epochs_done: usize) -> Result<f32, TrainError> {
        self.last_read = Some(std::time::Instant::now());
        let Some(acc) = self.pending.take() else { return Ok(0.0) };
        let mean = acc.into_scalar::<f32>() / self.since_read as f32;
        if !mean.is_finite() {
            return Err(TrainError::Diverged(format!(
                "loss became {mean} at epoch {epoch}, step {step}; stopped, keeping the last good checkpoint (epoch {epochs_done})"
            )));
        }
        self.sum += mean as f64 * self.since_read as f64;
        self.steps_read += self.since_read;
        self.since_read = 0;
        Ok(mean)
    }

    /// The epoch's mean loss, reading back whatever is still pending.
    pub(super) fn epoch_mean(&mut self, epoch: usize, step: usize, epochs_done: usize) -> Result<f32, TrainError> {
        self.read(epoch, step, epochs_done)?;
        Ok((self.sum / self.steps_read.max(1) as f64) as f32)
    }
}
