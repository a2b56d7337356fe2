//! The GUI's training, inference, map and results views driven through kittest: a short CPU
//! training started from the panel, a followed run folder, map selection and its neighbour
//! lists, the ablation bars; plus the PCA behind the map against hand-computed values.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use pinsage_explorer::ablation::{AblationReport, AblationRow};
use pinsage_explorer::app::{AppOptions, ExplorerApp, View};
use pinsage_explorer::eval::Metrics;
use pinsage_explorer::export::nearest_pins;
use pinsage_explorer::projection::{ProjectionError, pca_2d};
use pinsage_explorer::synthetic::{SyntheticConfig, generate};
use pinsage_explorer::train::{self, DeviceChoice, EndReason, RunOptions, TrainConfig, TrainEvent};

use crate::training::cpu_config;

fn harness(view: View, wgpu: bool) -> Harness<'static, ExplorerApp> {
    let b = Harness::builder().with_size(egui::vec2(1400.0, 900.0));
    let b = if wgpu { b.wgpu() } else { b };
    b.build_eframe(move |cc| {
        ExplorerApp::new(cc, AppOptions { ephemeral: true, view: Some(view), ..Default::default() })
    })
}

/// Steps frames (with short sleeps, so background jobs progress) until `done` holds; 60 s at most.
fn wait_for(h: &mut Harness<'static, ExplorerApp>, what: &str, done: impl FnMut(&ExplorerApp) -> bool) {
    crate::common::wait_for_app(h, what, 60, done);
}

/// Sets the draft to a small CPU run through the panel's widgets (sizes directly).
fn small_cpu_draft(h: &mut Harness<'static, ExplorerApp>, epochs: usize) {
    h.step();
    h.get_by_label("CPU").click();
    h.step();
    let d = &mut h.state_mut().panels.training.draft;
    d.batch_size = 128;
    d.negatives = 64;
    d.input_dim = 32;
    d.hidden_dim = 32;
    d.log_every_steps = 5;
    h.get_by_role_and_label(Role::SpinButton, "Epochs").set_value_accesskit(epochs as f64);
    h.get_by_role_and_label(Role::TextInput, "Learning rate").set_text_value_accesskit("0.005");
    h.step();
    h.step();
}

fn progress_losses(events: &[TrainEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Progress { loss, .. } => Some(*loss as f64),
            _ => None,
        })
        .collect()
}

#[test]
fn training_panel_validates_then_trains_on_cpu_and_feeds_inference_and_the_map() {
    let mut h = harness(View::Training, false);
    small_cpu_draft(&mut h, 2);
    assert_eq!(h.state().panels.training.draft.device, DeviceChoice::Cpu, "the CPU button selects the CPU");
    assert_eq!(h.state().panels.training.draft.epochs, 2);
    refuses_a_bad_config(&mut h);
    let (trained, g) = trains_two_epochs(&mut h);
    let inferred = inference_matches_the_trainer(&mut h, &trained);
    map_selects_and_lists_neighbours(&mut h, &inferred, &g);
}

/// Bad input: a message, and Start does nothing; a good config clears the messages.
fn refuses_a_bad_config(h: &mut Harness<'static, ExplorerApp>) {
    // Bad input: a message, and Start does nothing.
    h.get_by_role_and_label(Role::TextInput, "Learning rate").set_text_value_accesskit("fast");
    h.step();
    h.step();
    assert!(h.query_by_label_contains("is not a number").is_some(), "learning-rate message shown");
    h.get_by_role_and_label(Role::SpinButton, "Epochs").set_value_accesskit(0.0);
    h.step();
    h.step();
    assert!(h.query_by_label_contains("invalid epochs").is_some(), "epochs message shown");
    h.get_by_label("Start training").click();
    h.step();
    h.step();
    assert!(!h.state().state.run.running && h.state().state.run.events.is_empty(), "an invalid config does not start");
    h.get_by_role_and_label(Role::TextInput, "Learning rate").set_text_value_accesskit("0.005");
    h.get_by_role_and_label(Role::SpinButton, "Epochs").set_value_accesskit(2.0);
    h.step();
    h.step();
    assert!(
        h.query_by_label_contains("invalid").is_none() && h.query_by_label_contains("not a number").is_none(),
        "no message once the config is valid"
    );
}

/// Starts the 2-epoch run and checks what reached the plots; the trained embeddings and the graph.
fn trains_two_epochs(
    h: &mut Harness<'static, ExplorerApp>,
) -> (Arc<pinsage_explorer::infer::Embeddings>, Arc<pinsage_explorer::graph::Graph>) {
    h.get_by_label("Start training").click();
    h.step();
    h.step();
    assert!(h.state().state.run.running, "the run started");
    wait_for(h, "the training to finish", |a| !a.state.run.running && a.state.model.is_some());

    let app = h.state();
    let events = &app.state.run.events;
    let curves = &app.panels.training.curves;
    assert!(
        matches!(events.last(), Some(TrainEvent::Finished { reason: EndReason::Completed, epochs_done: 2, .. })),
        "{:?}",
        events.last()
    );
    assert_eq!(curves.n_events, events.len(), "the plots saw every event");
    assert_eq!(curves.epochs_ended, vec![1, 2], "every epoch reached the plots");
    assert_eq!(curves.metric_epochs, vec![1, 2], "every epoch was evaluated and plotted");
    let losses: Vec<f64> = curves.loss.iter().map(|p| p[1]).collect();
    assert_eq!(losses, progress_losses(events), "one loss point per progress event");
    assert!(!losses.is_empty());
    assert_eq!(curves.recall.len(), 2);
    assert!(curves.recall.iter().all(|p| (0.0..=1.0).contains(&p[1])));
    assert!(curves.device.as_deref().unwrap_or("").starts_with("cpu"), "ran on the CPU: {:?}", curves.device);
    let trained = app.state.embeddings.clone().expect("the trained model's embeddings");
    let g = app.state.graph.clone();
    assert_eq!(trained.n_nodes(), (g.n_pins() + g.n_boards()) as usize);
    (trained, g)
}

/// Inference view: the animation runs both jobs, and real inference reproduces the trainer's
/// embeddings; returns the inferred ones.
fn inference_matches_the_trainer(
    h: &mut Harness<'static, ExplorerApp>,
    trained: &Arc<pinsage_explorer::infer::Embeddings>,
) -> Arc<pinsage_explorer::infer::Embeddings> {
    h.get_by_label("Inference").click();
    h.step();
    h.step();
    h.state_mut().panels.inference.secs_per_job = 1.0;
    h.get_by_label("Run both").click();
    h.step();
    assert!(h.state().panels.inference.animating());
    wait_for(h, "the animation", |a| a.panels.inference.done_jobs == 2 && !a.panels.inference.animating());
    h.get_by_label("Run full-graph inference").click();
    h.step();
    wait_for(h, "full-graph inference", |a| a.panels.inference.real_secs.is_some());
    let inferred = h.state().state.embeddings.clone().unwrap();
    assert!(!Arc::ptr_eq(&inferred, trained), "inference produced new embeddings");
    assert_eq!((inferred.dim, inferred.n_pins, inferred.data.len()), (trained.dim, trained.n_pins, trained.data.len()));
    let max_diff = inferred.data.iter().zip(&trained.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 1e-4, "layer-wise inference matches the trainer's embeddings (max diff {max_diff})");
    inferred
}

/// Map: every pin drawn; clicking one selects it and lists its neighbours by the model and by
/// features; search by label selects a pin too.
fn map_selects_and_lists_neighbours(
    h: &mut Harness<'static, ExplorerApp>,
    inferred: &pinsage_explorer::infer::Embeddings,
    g: &pinsage_explorer::graph::Graph,
) {
    h.get_by_label("Embedding map").click();
    wait_for(h, "the projection", |a| a.panels.map.drawn.len() == a.state.graph.n_pins() as usize);
    // The layout can still move for a few frames (background results reflow the title row and
    // the side panel); take the points once three frames in a row have drawn them in one place.
    let (mut last, mut still) = (Vec::new(), 0);
    wait_for(h, "the map to settle", |a| {
        still = if a.panels.map.drawn == last { still + 1 } else { 0 };
        last = a.panels.map.drawn.clone();
        still >= 3
    });
    let drawn = h.state().panels.map.drawn.clone();
    let current = h.state().state.selected_pin;
    let canvas_centre = {
        let (lo, hi) =
            drawn.iter().fold((egui::pos2(f32::MAX, f32::MAX), egui::pos2(f32::MIN, f32::MIN)), |(lo, hi), p| {
                (lo.min(*p), hi.max(*p))
            });
        lo + (hi - lo) / 2.0
    };
    // A pin near the middle that no other pin covers.
    let target = (0..drawn.len())
        .filter(|&p| p as u32 != current && drawn.iter().enumerate().all(|(q, d)| q == p || d.distance(drawn[p]) > 2.0))
        .min_by(|&a, &b| drawn[a].distance(canvas_centre).total_cmp(&drawn[b].distance(canvas_centre)))
        .expect("an isolated pin") as u32;
    let pos = drawn[target as usize];
    h.hover_at(pos);
    h.step();
    assert_eq!(h.state().panels.map.hovered, Some(target), "hover finds the pin under the pointer");
    h.drag_at(pos);
    h.drop_at(pos);
    h.step();
    h.step();
    assert_eq!(h.state().state.selected_pin, target, "clicking a point selects its pin");
    wait_for(h, "the neighbour lists", |a| a.panels.map.shown.as_ref().is_some_and(|s| s.0 == target));
    let (_, model_list, visual_list) = h.state().panels.map.shown.clone().unwrap();
    let expected_model: Vec<u32> = nearest_pins(inferred, 10)[target as usize].iter().map(|x| x.0).collect();
    assert_eq!(model_list, expected_model, "neighbours by the trained model");
    let expected_visual = nearest_by_features(g, target);
    assert_eq!(visual_list, expected_visual, "neighbours by visual features alone");
    assert_ne!(model_list, visual_list, "the model's neighbours differ from the visual-only ones");
    let label = g.pin_label(expected_model[0]);
    assert!(
        !h.query_all_by_label(&label).collect::<Vec<_>>().is_empty(),
        "the side list shows the nearest pin's label"
    );

    // Search by label selects a pin too.
    let wanted = expected_visual[3];
    h.get_by_label("Find a pin on the map").set_text_value_accesskit(&wanted.to_string());
    h.remove_cursor();
    for _ in 0..4 {
        h.step();
    }
    h.get_by_label(&format!("{wanted}: {}", g.pin_label(wanted))).click_accesskit();
    h.step();
    h.step();
    assert_eq!(h.state().state.selected_pin, wanted, "search result selects the pin");
}

/// The 10 pins nearest `target` by visual features alone: cosine of the raw feature rows, computed
/// here by hand.
fn nearest_by_features(g: &pinsage_explorer::graph::Graph, target: u32) -> Vec<u32> {
    let f = g.features.as_ref().unwrap();
    let unit = |p: u32| {
        let r = f.row(p);
        let n = r.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        r.iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let q = unit(target);
    let mut scored: Vec<(u32, f32)> = (0..g.n_pins())
        .filter(|&p| p != target)
        .map(|p| (p, unit(p).iter().zip(&q).map(|(a, b)| a * b).sum()))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.iter().take(10).map(|x| x.0).collect()
}

#[test]
fn pause_resume_and_stop_keep_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut h = harness(View::Training, false);
    small_cpu_draft(&mut h, 40);
    h.get_by_label("Save to a run folder").click();
    h.step();
    h.get_by_label("Run folder").set_text_value_accesskit(&out.display().to_string());
    h.step();
    h.step();
    h.get_by_label("Start training").click();
    wait_for(&mut h, "the first checkpoint", |a| {
        a.state.run.events.iter().any(|e| matches!(e, TrainEvent::Checkpoint { .. }))
    });
    h.get_by_label("Pause").click();
    wait_for(&mut h, "the pause", |a| a.state.run.paused);
    let n = h.state().state.run.events.len();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().state.run.events.len(), n, "no progress while paused");
    h.get_by_label("Resume").click();
    wait_for(&mut h, "the resume", |a| !a.state.run.paused);
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the stop", |a| !a.state.run.running && a.state.model.is_some());
    let events = &h.state().state.run.events;
    let Some(TrainEvent::Finished { reason: EndReason::Stopped, epochs_done, .. }) = events.last() else {
        panic!("{:?}", events.last())
    };
    assert!(*epochs_done >= 1 && *epochs_done < 40);
    assert!(out.join("checkpoint.bpk").is_file(), "the last checkpoint is kept");
    assert!(!out.join("model.bpk").exists(), "a stopped run writes no final model");
    assert!(
        events.iter().any(|e| matches!(e, TrainEvent::Paused))
            && events.iter().any(|e| matches!(e, TrainEvent::Resumed))
    );
    assert!(h.query_by_label_contains("Stopped. The checkpoint of epoch").is_some());
    // The checkpoint loads as a model for the other views.
    h.get_by_label("Load its model").click();
    wait_for(&mut h, "the checkpoint's model", |a| {
        a.state.model.as_ref().is_some_and(|m| m.origin == out.display().to_string())
    });
}

#[test]
fn following_a_run_folder_draws_its_curves_and_loads_its_model() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let handle = train::spawn(
        g,
        TrainConfig { log_every_steps: 3, ..cpu_config(2) },
        RunOptions { out: Some(dir.path().to_path_buf()), ..RunOptions::default() },
    );
    let _: Vec<TrainEvent> = handle.events.iter().collect();
    handle.join().expect("the prepared run trains");
    let text = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let logged: Vec<TrainEvent> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let mut h = harness(View::Training, false);
    h.step();
    h.get_by_label("Run folder to follow").set_text_value_accesskit(&dir.path().display().to_string());
    h.step();
    h.step();
    h.get_by_label("Follow").click();
    wait_for(&mut h, "the followed run's end", |a| a.panels.training.curves.finished.is_some());
    let c = &h.state().panels.training.curves;
    assert!(c.source.starts_with("following"));
    assert_eq!(c.epochs_ended, vec![1, 2]);
    assert_eq!(
        c.loss.iter().map(|p| p[1]).collect::<Vec<_>>(),
        progress_losses(&logged),
        "the loss curve is the file's"
    );
    let recalls: Vec<f64> = logged
        .iter()
        .filter_map(|e| match e {
            TrainEvent::EpochEnd { metrics: Some(m), .. } => Some(m.recall_at_20),
            _ => None,
        })
        .collect();
    assert_eq!(c.recall.iter().map(|p| p[1]).collect::<Vec<_>>(), recalls);
    assert_eq!(c.finished, Some((EndReason::Completed, 2)));
    assert!(!h.state().state.run.running);

    // A folder without metrics.jsonl cannot be followed.
    let empty = tempfile::tempdir().unwrap();
    h.get_by_label("Run folder to follow").set_text_value_accesskit(&empty.path().display().to_string());
    h.step();
    h.step();
    assert!(h.query_by_label_contains("no metrics.jsonl").is_some());

    h.get_by_label("Run folder to follow").set_text_value_accesskit(&dir.path().display().to_string());
    h.step();
    h.step();
    h.get_by_label("Load its model").click();
    wait_for(&mut h, "the run's model", |a| a.state.model.is_some());
    assert_eq!(h.state().state.model.as_ref().unwrap().config.hidden_dim, 32);
}

fn metrics(recall: f64, hit: f64) -> Metrics {
    Metrics {
        recall_at_20: recall,
        ndcg_at_20: recall / 2.0,
        hit_rate: hit,
        hit_k: 10,
        mrr: hit / 3.0,
        mrr_scaled: hit / 2.0,
        ..Metrics::default()
    }
}

#[test]
fn results_panel_draws_the_ablation_report_as_bars_with_configs() {
    let report = AblationReport {
        data: "default".into(),
        epochs: 3,
        device: "cpu (flex)".into(),
        rows: vec![
            AblationRow { name: "most popular".into(), config: None, metrics: metrics(0.05, 0.1), train_secs: 0.0 },
            AblationRow { name: "visual only".into(), config: None, metrics: metrics(0.08, 0.3), train_secs: 0.0 },
            AblationRow {
                name: "importance pooling".into(),
                config: Some(TrainConfig {
                    pooling: pinsage_explorer::model::Pooling::Importance,
                    batch_size: 333,
                    ..TrainConfig::default()
                }),
                metrics: metrics(0.21, 0.6),
                train_secs: 12.0,
            },
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ablation.json");
    std::fs::write(&path, serde_json::to_string(&report).unwrap()).unwrap();

    let mut h = harness(View::Results, false);
    h.step();
    // A missing file: a message, nothing drawn, nothing lost.
    h.get_by_label("Ablation report").set_text_value_accesskit(&dir.path().join("missing.json").display().to_string());
    h.step();
    h.get_by_label("Load").click();
    wait_for(&mut h, "the error", |a| !a.state.errors.is_empty());
    assert!(h.state().state.errors.iter().any(|e| e.contains("missing.json")));
    assert!(h.state().panels.results.drawn.is_empty());

    h.get_by_label("Ablation report").set_text_value_accesskit(&path.display().to_string());
    h.step();
    h.get_by_label("Load").click();
    wait_for(&mut h, "the bars", |a| !a.panels.results.drawn.is_empty());
    let drawn = h.state().panels.results.drawn.clone();
    let titles: Vec<&str> = drawn.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(titles, ["recall@20", "ndcg@20", "hit rate", "MRR (scaled)"]);
    let recall: Vec<(String, f64)> = report.rows.iter().map(|r| (r.name.clone(), r.metrics.recall_at_20)).collect();
    assert_eq!(drawn[0].1, recall);
    assert_eq!(drawn[2].1.iter().map(|b| b.1).collect::<Vec<_>>(), vec![0.1, 0.3, 0.6]);

    // One click shows a trained row's config.
    assert_eq!(h.get_all_by_label("Config").count(), 1, "only the trained row has a config");
    // Under a loaded CI box a click queued while the panel is still laying out its new report can
    // be dropped with that frame; click again (at most a few times) until it lands.
    for _ in 0..5 {
        h.get_by_label("Config").click();
        h.step();
        h.step();
        if h.state().panels.results.config_row.is_some() {
            break;
        }
    }
    assert_eq!(h.state().panels.results.config_row, Some(2));
    assert!(h.query_by_label("333").is_some(), "the config's batch size is shown");
    assert!(h.query_by_label("importance").is_some());
}

#[test]
fn pca_matches_hand_computed_components() {
    // Along (1,1)/√2 with variance 9 and (1,−1)/√2 with variance 1 (covariance [[5,4],[4,5]]).
    let rows = [3.0, 3.0, -3.0, -3.0, 1.0, -1.0, -1.0, 1.0];
    let p = pca_2d(&rows, 2).unwrap();
    let s = std::f64::consts::FRAC_1_SQRT_2;
    for (got, want) in p.axes[0].iter().zip([s, s]) {
        assert!((got - want).abs() < 1e-9, "{:?}", p.axes);
    }
    for (got, want) in p.axes[1].iter().zip([s, -s]) {
        assert!((got - want).abs() < 1e-9, "{:?}", p.axes);
    }
    assert!((p.explained[0] - 0.9).abs() < 1e-9 && (p.explained[1] - 0.1).abs() < 1e-9, "{:?}", p.explained);
    let r = 3.0 * 2f32.sqrt();
    let want = [[r, 0.0], [-r, 0.0], [0.0, 2f32.sqrt()], [0.0, -(2f32.sqrt())]];
    for (got, want) in p.points.iter().zip(want) {
        assert!((got[0] - want[0]).abs() < 1e-5 && (got[1] - want[1]).abs() < 1e-5, "{:?}", p.points);
    }
    // Three dimensions, an offset mean, a dead third axis: PCs are x then y.
    let rows = [12.0, 5.0, 7.0, 8.0, 5.0, 7.0, 10.0, 6.0, 7.0, 10.0, 4.0, 7.0];
    let p = pca_2d(&rows, 3).unwrap();
    assert_eq!(p.points, vec![[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]);
    assert!((p.explained[0] - 0.8).abs() < 1e-9 && (p.explained[1] - 0.2).abs() < 1e-9);
    // Deterministic.
    assert_eq!(pca_2d(&rows, 3).unwrap(), p);
    // Bad input is an error, not a panic.
    assert_eq!(pca_2d(&rows, 5), Err(ProjectionError::Ragged { len: 12, dim: 5 }));
    assert_eq!(pca_2d(&rows[..3], 3), Err(ProjectionError::TooFewRows(1)));
    assert_eq!(pca_2d(&[1.0, f32::NAN, 0.0, 0.0], 2), Err(ProjectionError::NotFinite(0)));
    assert_eq!(pca_2d(&[], 0), Err(ProjectionError::ZeroDim));
}

/// Renders each view with a trained model, a real (small) ablation and the map's selection; the
/// renders are saved to `$PINSAGE_SCREENSHOTS` when set (the README's images).
#[test]
fn views_render_with_a_trained_model() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let base = TrainConfig { log_every_steps: 3, ..cpu_config(3) };
    let report = pinsage_explorer::ablation::run_ablation(g, &base, None, |_, _| {}).expect("ablation runs");
    std::fs::write(dir.path().join("ablation.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();

    let mut h = harness(View::Training, true);
    small_cpu_draft(&mut h, 4);
    h.get_by_label("Start training").click();
    wait_for(&mut h, "the training", |a| !a.state.run.running && a.state.model.is_some());
    render(&mut h, "training");

    h.get_by_label("Inference").click();
    h.step();
    h.step();
    h.state_mut().panels.inference.secs_per_job = 2.0;
    h.get_by_label("Run both").click();
    wait_for(
        &mut h,
        "job 2 half-way",
        |a| matches!(a.panels.inference.anim, pinsage_explorer::app::panels::inference::Anim::Running { job: 2, t } if t > 0.4),
    );
    h.state_mut().panels.inference.anim = pinsage_explorer::app::panels::inference::Anim::Running { job: 2, t: 0.45 };
    render(&mut h, "inference");
    h.state_mut().panels.inference.anim = Default::default();

    h.get_by_label("Embedding map").click();
    wait_for(&mut h, "the projection", |a| !a.panels.map.drawn.is_empty());
    let pin = h.state().state.selected_pin;
    wait_for(&mut h, "the neighbour lists", |a| {
        a.panels.map.shown.as_ref().is_some_and(|s| s.0 == pin && !s.1.is_empty())
    });
    if let Some(p) = h.state().panels.map.screen_pos(h.state().panels.map.shown.as_ref().unwrap().1[0]) {
        h.hover_at(p);
    }
    render(&mut h, "map");

    results_render(&mut h, &dir.path().join("ablation.json"), &report);

    // The search box: a board's top 20 by the trained model.
    h.get_by_label("Search pin by id or label").set_text_value_accesskit("board 12:");
    wait_for(&mut h, "the recommendations", |a| a.panels.pin_search.shown.len() == 1);
    assert_eq!(h.state().panels.pin_search.shown[0].items.len(), 20);
    render(&mut h, "recommend");
    h.get_by_label("Open…").click();
    render(&mut h, "open");
    assert!(h.state().panels.open.visible);
}

/// Steps a few frames, renders, checks that something was drawn, and saves the render to
/// `$PINSAGE_SCREENSHOTS` when set.
fn render(h: &mut Harness<'static, ExplorerApp>, name: &str) {
    for _ in 0..3 {
        h.step();
    }
    let img = h.render().expect("render");
    let first = img.get_pixel(0, 0);
    assert!(img.pixels().filter(|p| *p != first).count() > 10_000, "{name} drew something");
    if let Some(d) = &std::env::var_os("PINSAGE_SCREENSHOTS") {
        std::fs::create_dir_all(d).unwrap();
        img.save(Path::new(d).join(format!("{name}.png"))).unwrap();
    }
}

/// The results view: the ablation written to `report_file` with a row's config open, then the
/// measured Gowalla table beside the trained model's bars.
fn results_render(h: &mut Harness<'static, ExplorerApp>, report_file: &Path, report: &AblationReport) {
    h.get_by_label("Results").click();
    h.step();
    h.step();
    h.get_by_label("Ablation report").set_text_value_accesskit(&report_file.display().to_string());
    h.step();
    h.get_by_label("Load").click();
    wait_for(h, "the bars", |a| !a.panels.results.drawn.is_empty());
    assert_eq!(h.state().panels.results.drawn[0].1.len(), report.rows.len());
    let trained_rows = report.rows.iter().filter(|r| r.config.is_some()).count();
    assert_eq!(h.get_all_by_label("Config").count(), trained_rows);
    h.get_all_by_label("Config").last().unwrap().click();
    render(h, "results-own");
    // The README shows the measured Gowalla table with the curriculum run's config open.
    h.get_by_label("Gowalla · H100").click();
    wait_for(h, "the measured bars", |a| a.panels.results.drawn.first().is_some_and(|d| d.1.len() == 4));
    h.get_all_by_label("Config").last().unwrap().click();
    // The trained model's bars lead the loaded graph's baselines.
    wait_for(h, "the model beside the baselines", |a| {
        a.panels
            .results
            .baselines
            .drawn
            .first()
            .is_some_and(|d| d.1.first().is_some_and(|b| b.0.starts_with("PinSage")))
    });
    render(h, "results");
}

#[test]
fn measured_reports_open_from_the_results_view() {
    let mut h = harness(View::Results, false);
    h.step();
    h.get_by_label("Gowalla · H100").click();
    wait_for(&mut h, "the measured bars", |a| !a.panels.results.drawn.is_empty());
    let expected = AblationReport::parse(pinsage_explorer::ablation::MEASURED[0].1, "gowalla").unwrap();
    let (title, bars) = h.state().panels.results.drawn[0].clone();
    assert_eq!(title, "recall@20");
    let names: Vec<&str> = bars.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(names, expected.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>());
    for (b, r) in bars.iter().zip(&expected.rows) {
        assert!(
            (b.1 - r.metrics.recall_at_20).abs() < 1e-12,
            "{}: bar {} vs report {}",
            r.name,
            b.1,
            r.metrics.recall_at_20
        );
    }
    assert!(h.state().panels.results.path.is_empty(), "the file path is cleared for a built-in report");
}

/// The temperature is "auto" by default and shows the value the loaded graph gets; unticking it
/// starts the user's own τ from that value, and ticking it again returns to automatic.
#[test]
fn the_temperature_control_shows_the_graphs_automatic_value() {
    let mut h = harness(View::Training, false);
    h.step();
    let auto = pinsage_explorer::train::default_temperature(&h.state().state.graph);
    assert!(h.state().panels.training.draft.temperature.is_none(), "auto by default");
    let label = format!("auto ({auto:.2} on this graph)");
    h.get_by_label(&label).click();
    h.step();
    assert_eq!(h.state().panels.training.draft.temperature, Some(auto));
    h.step();
    h.get_by_label("auto").click();
    h.step();
    assert_eq!(h.state().panels.training.draft.temperature, None);
    h.step();
    h.get_by_label(&label);
}

/// "Devices" under More settings: a bad list is a message that blocks Start; `0,1` trains one
/// CPU run data-parallel over two replicas, to the end.
#[test]
fn the_devices_field_trains_data_parallel_and_refuses_bad_lists() {
    let mut h = harness(View::Training, false);
    small_cpu_draft(&mut h, 1);
    h.get_by_label("More settings").click();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Devices").set_text_value_accesskit("0,0");
    h.step();
    h.step();
    assert!(h.query_by_label_contains("listed twice").is_some(), "the duplicate is named");
    h.get_by_label("Start training").click();
    h.step();
    assert!(!h.state().state.run.running && h.state().state.run.events.is_empty(), "a bad list does not start");
    h.get_by_role_and_label(Role::TextInput, "Devices").set_text_value_accesskit("0,1");
    h.step();
    h.step();
    assert!(h.query_by_label_contains("listed twice").is_none());
    assert_eq!(h.state().panels.training.draft.devices, Some(vec![0, 1]));
    h.get_by_label("Start training").click();
    h.step();
    wait_for(&mut h, "the data-parallel run", |a| !a.state.run.running && a.state.model.is_some());
    let shares = h.state().state.run.events.iter().find_map(|e| match e {
        TrainEvent::Progress { device_wait_shares, .. } => Some(device_wait_shares.len()),
        _ => None,
    });
    assert_eq!(shares, Some(2), "progress reports both replicas");
    h.get_by_role_and_label(Role::TextInput, "Devices").set_text_value_accesskit("");
    h.step();
    h.step();
    assert_eq!(h.state().panels.training.draft.devices, None, "empty is one device");
}
