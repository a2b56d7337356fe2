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
    pub fn load(path: &Path) -> Result<AblationReport, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a report's JSON; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<AblationReport, TrainError> {
        serde_json::from_str(text).map_err(|e| TrainError::Config(format!("{source}: {e}")))
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
) -> Result<AblationReport, TrainError> {
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
        handle.join()?;
        let metrics = metrics.ok_or_else(|| TrainError::Device(format!("{name}: the run ended without metrics")))?;
        rows.push(AblationRow { name, config: Some(cfg), metrics, train_secs: t.elapsed().as_secs_f64() });
    }
    Ok(AblationReport { data: base.data.clone(), epochs: base.epochs, device: device_name, rows })
}
