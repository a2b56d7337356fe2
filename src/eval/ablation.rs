//! The paper's ablation (Ying et al., KDD 2018, the component study), measured: baselines and PinSage variants trained with the same
//! budget on the same graph, evaluated with the same protocols. Saved as JSON for the GUI.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::eval::{HIT_K, MAX_PIN_PAIRS, Metrics, PopularityScorer, VisualScorer, evaluate};
use crate::graph::Graph;
use crate::model::Pooling;
use crate::sampler::NeighbourhoodKind;
use crate::train::{self, RunOptions, TrainConfig, TrainError, TrainEvent};

/// Why an ablation report could not be read or measured.
#[derive(Debug, thiserror::Error)]
pub enum AblationError {
    #[error("{path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{source_name}: not an ablation report: {error}")]
    Parse { source_name: String, error: serde_json::Error },
    #[error("ablation row {row}: {error}")]
    Train { row: String, error: TrainError },
    #[error("ablation row {row}: the run ended without metrics")]
    NoMetrics { row: String },
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AblationRow {
    pub name: String,
    /// The training config (None for baselines that do not train).
    pub config: Option<TrainConfig>,
    pub metrics: Metrics,
    pub train_secs: f64,
}

/// The whole table, as written by `pinsage ablate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AblationReport {
    pub data: String,
    pub epochs: usize,
    pub device: String,
    pub rows: Vec<AblationRow>,
}

/// Reports measured for BENCHMARKS.md, built into the binary so the Results view can show them
/// without files: (name, JSON).
pub const MEASURED: [(&str, &str); 3] = [
    ("Gowalla · H100", include_str!("../../assets/ablations/gowalla-h100.json")),
    ("default · softmax · H100", include_str!("../../assets/ablations/default-softmax-h100.json")),
    ("default · paper loss · H100", include_str!("../../assets/ablations/default-paper-h100.json")),
];

impl AblationReport {
    pub fn load(path: &Path) -> Result<AblationReport, AblationError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| AblationError::Read { path: path.display().to_string(), error })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a report's JSON; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<AblationReport, AblationError> {
        serde_json::from_str(text).map_err(|error| AblationError::Parse { source_name: source.to_string(), error })
    }
}

/// The trained variants, in the paper's order: uniform pooling over uniform neighbourhoods,
/// importance pooling, importance + the hard-negative curriculum.
pub fn variants(base: &TrainConfig) -> Vec<(String, TrainConfig)> {
    vec![
        (
            "uniform pooling".into(),
            TrainConfig {
                pooling: Pooling::Mean,
                neighbourhood: NeighbourhoodKind::Uniform,
                hard_negatives: false,
                ..base.clone()
            },
        ),
        (
            "importance pooling".into(),
            TrainConfig {
                pooling: Pooling::Importance,
                neighbourhood: NeighbourhoodKind::Walks,
                hard_negatives: false,
                ..base.clone()
            },
        ),
        (
            "importance + hard negatives".into(),
            TrainConfig {
                pooling: Pooling::Importance,
                neighbourhood: NeighbourhoodKind::Walks,
                hard_negatives: true,
                ..base.clone()
            },
        ),
    ]
}

/// Runs the baselines and every variant; `progress(row_name, event)` sees each training event.
pub fn run_ablation(
    g: Arc<Graph>,
    base: &TrainConfig,
    device: Option<(burn::prelude::Device, String)>,
    mut progress: impl FnMut(&str, &TrainEvent),
) -> Result<AblationReport, AblationError> {
    let mut rows = Vec::new();
    let (hit_k, pairs, seed) = (HIT_K, MAX_PIN_PAIRS, base.seed);
    rows.push(AblationRow {
        name: "most popular".into(),
        config: None,
        metrics: evaluate(&g, &PopularityScorer::new(&g), hit_k, pairs, seed),
        train_secs: 0.0,
    });
    if let Some(v) = VisualScorer::new(&g) {
        rows.push(AblationRow {
            name: "visual only".into(),
            config: None,
            metrics: evaluate(&g, &v, hit_k, pairs, seed),
            train_secs: 0.0,
        });
    }
    let mut device_name = String::new();
    for (name, cfg) in variants(base) {
        let cfg = TrainConfig { eval_each_epoch: false, ..cfg };
        let t = Instant::now();
        let handle =
            train::spawn(g.clone(), cfg.clone(), RunOptions { device: device.clone(), ..RunOptions::default() });
        let mut metrics = None;
        for ev in handle.events.iter() {
            if let TrainEvent::Started { device, .. } = &ev {
                device_name = device.clone();
            }
            if let TrainEvent::Finished { metrics: m, .. } = &ev {
                metrics = m.clone();
            }
            progress(&name, &ev);
        }
        if let Err(error) = handle.join() {
            return Err(AblationError::Train { row: name, error });
        }
        let Some(metrics) = metrics else { return Err(AblationError::NoMetrics { row: name }) };
        rows.push(AblationRow { name, config: Some(cfg), metrics, train_secs: t.elapsed().as_secs_f64() });
    }
    Ok(AblationReport { data: base.data.clone(), epochs: base.epochs, device: device_name, rows })
}
