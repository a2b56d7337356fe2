//! What the trainer reports ([`TrainEvent`], one JSON line each in `metrics.jsonl`), the commands
//! it obeys ([`TrainCommand`]), how runs end and fail, and the sink that delivers events.

use std::io::Write;

use crossbeam_channel::{Receiver, Sender};
use serde::{Deserialize, Serialize};

use crate::eval::Metrics;
use crate::walk::ParamError;

/// Why the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    Completed,
    Stopped,
    /// Validation recall@20 stopped improving (see `TrainConfig::patience`).
    #[serde(rename = "early_stopped")]
    EarlyStopped,
}

/// Everything the trainer reports. One JSON object per line in `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Started {
        device: String,
        epochs: usize,
        start_epoch: usize,
        steps_per_epoch: usize,
        pins: u32,
        boards: u32,
        edges: usize,
    },
    Note {
        message: String,
    },
    Progress {
        epoch: usize,
        step: usize,
        steps_per_epoch: usize,
        loss: f32,
        triplets_per_sec: f64,
        queue_depth: usize,
        gpu_wait_share: f64,
        /// Data-parallel runs, per device (the model's first): the share of the epoch so far that
        /// the trainer blocked on that device's transfers (gradients to device 0; for device 0,
        /// the updated parameters out of it). Absent on one device.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        device_wait_shares: Vec<f64>,
        elapsed_secs: f64,
        eta_secs: f64,
    },
    EpochEnd {
        epoch: usize,
        loss: f32,
        /// Wall time of the epoch, its setup included (starting the samplers, and before epoch 2
        /// waiting for the hard-negative pools if they are still being built).
        epoch_secs: f64,
        triplets_per_sec: f64,
        gpu_wait_share: f64,
        hard_per_query: usize,
        metrics: Option<Metrics>,
    },
    Checkpoint {
        epoch: usize,
        path: String,
    },
    Paused,
    Resumed,
    /// `metrics` are on the test edges, of the best-validation epoch (`best_epoch`) when the graph
    /// has validation edges, else of the last epoch.
    Finished {
        reason: EndReason,
        epochs_done: usize,
        metrics: Option<Metrics>,
        #[serde(default)]
        best_epoch: Option<usize>,
    },
    Failed {
        message: String,
    },
}

/// Commands the trainer obeys between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainCommand {
    Pause,
    Resume,
    Stop,
}

/// An error that ends a run (reported as [`TrainEvent::Failed`] too).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Load(#[from] crate::load::LoadError),
    /// (Not a `#[source]`: the message already carries it, and error chains would repeat it.)
    #[error("invalid config: {0}")]
    Param(ParamError),
    #[error("config: {0}")]
    Config(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Diverged(String),
    #[error("{0}")]
    Device(String),
    #[error(transparent)]
    RunFolder(#[from] crate::run_folder::RunFolderError),
    #[error(transparent)]
    Memory(#[from] crate::memory::OutOfMemory),
    #[error(transparent)]
    Infer(#[from] crate::infer::InferError),
}

impl From<ParamError> for TrainError {
    fn from(e: ParamError) -> Self {
        TrainError::Param(e)
    }
}

/// Sends events to the channel, appends them to metrics.jsonl, and pokes the listener.
pub(super) struct EventSink {
    pub(super) tx: Sender<TrainEvent>,
    pub(super) log: Option<std::fs::File>,
    pub(super) notify: Option<Box<dyn Fn() + Send>>,
}

impl EventSink {
    pub(super) fn emit(&mut self, ev: TrainEvent) {
        if let Some(f) = &mut self.log
            && let Ok(line) = serde_json::to_string(&ev)
        {
            // A full disk must not kill training; the channel still carries the event.
            let _ = writeln!(f, "{line}").and_then(|_| f.flush());
        }
        let _ = self.tx.send(ev);
        if let Some(n) = &self.notify {
            n();
        }
    }
}

/// Blocks while paused; returns true when asked to stop.
pub(super) fn handle_commands(cmds: &Receiver<TrainCommand>, sink: &mut EventSink) -> bool {
    let mut paused = false;
    loop {
        let cmd = if paused { cmds.recv().ok() } else { cmds.try_recv().ok() };
        match cmd {
            None if paused => return true, // the controller went away while paused
            None => return false,
            Some(TrainCommand::Stop) => return true,
            Some(TrainCommand::Pause) if !paused => {
                paused = true;
                sink.emit(TrainEvent::Paused);
            }
            Some(TrainCommand::Resume) if paused => {
                sink.emit(TrainEvent::Resumed);
                return false;
            }
            Some(_) => {}
        }
    }
}

pub(super) fn end_reason(stopped: bool, early: bool) -> EndReason {
    if stopped {
        EndReason::Stopped
    } else if early {
        EndReason::EarlyStopped
    } else {
        EndReason::Completed
    }
}
