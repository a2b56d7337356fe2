//! The app's logic, run before drawing each frame: carry out commands, drain job events within a
//! time budget, and fold them into the state. Nothing here draws.

use std::sync::Arc;
use std::time::Duration;

use eframe::{egui, egui_wgpu, wgpu};

use super::ExplorerApp;
use super::state::{AppState, CacheKey, Cached, Command, RESULT_CACHE, RunLog, RunSource, initial_pin};
use crate::edits::Edit;
use crate::graph::Graph;
use crate::jobs::{Computed, JobEvent, ModelBundle, bundle_from_run};
use crate::split::SplitConfig;
use crate::train::TrainEvent;

/// How long one frame may spend folding job events into the state.
const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// eframe's wgpu options: the adapter's full limits and features, so Burn can share the device.
pub fn wgpu_options() -> egui_wgpu::WgpuConfiguration {
    let mut create = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    create.device_descriptor = Arc::new(|adapter: &wgpu::Adapter| wgpu::DeviceDescriptor {
        label: Some("pinsage-explorer"),
        required_features: adapter.features().difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
        required_limits: adapter.limits(),
        ..Default::default()
    });
    egui_wgpu::WgpuConfiguration { wgpu_setup: egui_wgpu::WgpuSetup::CreateNew(create), ..Default::default() }
}

/// Hands eframe's wgpu device to Burn, so training and drawing share one GPU device.
pub fn burn_device_from_renderer(rs: &egui_wgpu::RenderState) -> Option<(burn::prelude::Device, String)> {
    let setup = burn::tensor::wgpu::WgpuSetup {
        instance: rs.instance.clone(),
        adapter: rs.adapter.clone(),
        device: rs.device.clone(),
        queue: rs.queue.clone(),
        backend: rs.adapter.get_info().backend,
    };
    let name = format!("gpu (wgpu, shared with the UI: {})", rs.adapter.get_info().name);
    burn::prelude::Device::wgpu_options().setup(setup).init().ok().map(|d| (d, name))
}

/// One frame of logic.
pub fn tick(app: &mut ExplorerApp, ctx: &egui::Context) {
    handle_dropped_files(app, ctx);
    let commands = std::mem::take(&mut app.state.commands);
    for c in commands {
        execute(app, c);
    }
    for ev in app.jobs.drain(DRAIN_BUDGET) {
        apply(&mut app.state, ev);
    }
    app.panels.tick(&app.state, ctx);
    if !app.jobs.training() && app.state.run.running && !app.state.run.source.is_followed() {
        app.state.run.running = false;
    }
}

fn handle_dropped_files(app: &mut ExplorerApp, ctx: &egui::Context) {
    let dropped = ctx.input(|i| i.raw.dropped_files.clone());
    if let Some(f) = dropped.first() {
        app.state.commands.push(Command::Open(f.path().display().to_string()));
    }
}

fn execute(app: &mut ExplorerApp, c: Command) {
    // Each group takes its own commands and hands the others on.
    let Some(c) = execute_load(app, c) else { return };
    let Some(c) = execute_compute(app, c) else { return };
    let Some(c) = execute_edit(app, c) else { return };
    let Some(c) = execute_model(app, c) else { return };
    execute_selection(&mut app.state, c);
}

/// Loading a graph. Returns the command when it is not one of these.
fn execute_load(app: &mut ExplorerApp, c: Command) -> Option<Command> {
    let state = &mut app.state;
    match c {
        Command::Open(spec) => {
            let split = if spec == "default" { SplitConfig::none() } else { state.settings.split };
            start_load(app, spec, split);
        }
        Command::OpenWith { spec, split } => match split.validate() {
            Ok(()) => {
                state.settings.split = split;
                start_load(app, spec, split);
            }
            Err(e) => state.errors.push(format!("split not changed: {e}")),
        },
        Command::Resplit(split) => match split.validate() {
            Ok(()) => {
                state.settings.split = split;
                let spec = state.graph_spec.clone();
                start_load(app, spec, split);
            }
            Err(e) => state.errors.push(format!("split not changed: {e}")),
        },
        Command::CancelLoad => app.jobs.cancel_load(),
        Command::PickFile => app.panels.open.show(&state.settings),
        other => return Some(other),
    }
    None
}

/// Background computations. Returns the command when it is not one of these.
fn execute_compute(app: &mut ExplorerApp, c: Command) -> Option<Command> {
    let state = &mut app.state;
    match c {
        Command::Compute { key, job } => {
            if state.pending.insert(key.clone()) {
                app.jobs.compute(key, job);
            }
        }
        Command::ComputeTracked { key, job } => {
            if state.pending.insert(key.clone()) {
                state.cancelled.remove(&key);
                state.progress.insert(key.clone(), (0.0, "starting".into()));
                app.jobs.compute_tracked(key, job);
            }
        }
        Command::CancelCompute(key) => {
            app.jobs.cancel_compute(&key);
            state.cancelled.insert(key);
        }
        Command::Recompute(key) => {
            state.cancelled.remove(&key);
        }
        other => return Some(other),
    }
    None
}

/// What-if edits. Returns the command when it is not one of these.
fn execute_edit(app: &mut ExplorerApp, c: Command) -> Option<Command> {
    let state = &mut app.state;
    match c {
        Command::Edit(edit) => {
            let new_pin = matches!(edit, Edit::AddPin { .. }).then(|| state.graph.n_pins());
            match state.edits.push(&state.graph, edit) {
                Ok(()) => {
                    state.select_after_edit = new_pin;
                    rebuild_edited(app);
                }
                Err(e) => state.errors.push(format!("edit refused: {e}")),
            }
        }
        Command::UndoEdit => {
            if state.edits.undo().is_some() {
                rebuild_edited(app);
            }
        }
        Command::ResetEdits => {
            state.edits.reset();
            rebuild_edited(app);
        }
        other => return Some(other),
    }
    None
}

/// Training, inference and run folders. Returns the command when it is not one of these.
fn execute_model(app: &mut ExplorerApp, c: Command) -> Option<Command> {
    let state = &mut app.state;
    match c {
        Command::StartTraining { config, out } => {
            if app.jobs.training() {
                state.errors.push("a training run is already going".into());
                return None;
            }
            if let Err(e) = config.validate() {
                state.errors.push(e.to_string());
                return None;
            }
            state.settings.train = (*config).clone();
            // The split the graph was made with, recorded in the run folder so that it reloads it.
            let mut config = config;
            config.split = state.graph_split;
            // Recorded in config.json and as the run's first note.
            config.graph_edits = state.edits.edits().iter().map(|e| e.describe(&state.graph)).collect();
            state.run = RunLog { source: RunSource::App, events: Vec::new(), running: true, paused: false };
            app.jobs.start_training(state.graph.clone(), *config, out);
        }
        Command::Train(cmd) => app.jobs.train_command(cmd),
        Command::RunInference => match &state.model {
            Some(bundle) => {
                state.inference_progress = Some((0, 1));
                app.jobs.infer(state.graph.clone(), bundle.clone(), crate::defaults::INFER_CHUNK);
            }
            None => state.errors.push("no model yet: train one or load a run folder first".into()),
        },
        Command::FollowRun(dir) => {
            state.settings.last_run_folder = Some(dir.display().to_string());
            state.run =
                RunLog { source: RunSource::Following(dir.clone()), events: Vec::new(), running: true, paused: false };
            app.jobs.follow_run(dir);
        }
        Command::LoadRunModel(dir) => {
            let device = app.jobs.shared_device.clone().map(|d| d.0).unwrap_or_else(burn::prelude::Device::flex);
            let graph = state.graph.clone();
            let key = CacheKey::RunModel(dir.clone());
            if state.pending.insert(key.clone()) {
                app.jobs.compute(key, move || bundle_from_run(&dir, &graph, device).map(Cached::into_computed));
            }
        }
        other => return Some(other),
    }
    None
}

/// Selection, settings and messages.
fn execute_selection(state: &mut AppState, c: Command) {
    match c {
        Command::SelectPin(p) => {
            if p < state.graph.n_pins() {
                state.selected_pin = p;
            }
        }
        Command::SetView(v) => state.settings.view = v,
        Command::SetMapMethod(m) => state.settings.map_method = m,
        Command::SelectBoard(b) => state.selected_board = b.filter(|&b| b < state.graph.n_boards()),
        Command::Hover { pin, board } => {
            state.hovered_pin = pin;
            state.hovered_board = board;
        }
        Command::SetWalkConfig(c) => match c.validate() {
            Ok(()) => state.settings.walk = c,
            Err(e) => state.errors.push(e.to_string()),
        },
        Command::DismissError(i) => {
            if i < state.errors.len() {
                state.errors.remove(i);
            }
        }
        // Taken by the groups before (listed, so that a new command must find a home).
        Command::Open(_)
        | Command::OpenWith { .. }
        | Command::Resplit(_)
        | Command::CancelLoad
        | Command::PickFile
        | Command::Compute { .. }
        | Command::ComputeTracked { .. }
        | Command::CancelCompute(_)
        | Command::Recompute(_)
        | Command::Edit(_)
        | Command::UndoEdit
        | Command::ResetEdits
        | Command::StartTraining { .. }
        | Command::Train(_)
        | Command::RunInference
        | Command::FollowRun(_)
        | Command::LoadRunModel(_) => {}
    }
}

/// Rebuilds the edited graph from the loaded one and the edit stack in the background (or goes
/// straight back to the loaded graph when no edit is left).
fn rebuild_edited(app: &mut ExplorerApp) {
    let state = &mut app.state;
    if state.edits.is_empty() {
        state.applying_edits = false;
        if let Some(base) = state.base_graph.take() {
            set_edited_graph(state, base);
        }
        return;
    }
    let base = state.loaded_graph().clone();
    let edits = state.edits.edits().to_vec();
    let key = CacheKey::EditedGraph { version: state.edits.version };
    state.applying_edits = true;
    if state.pending.insert(key.clone()) {
        app.jobs.compute(key, move || {
            crate::edits::apply(&base, &edits).map(|g| Arc::new(g).into_computed()).map_err(|e| e.to_string())
        });
    }
}

/// Shows `graph` (edited, or the loaded one again) in every view; the model and selection stay.
fn set_edited_graph(state: &mut AppState, graph: Arc<Graph>) {
    state.graph = graph;
    state.graph_generation += 1;
    if let Some(p) = state.select_after_edit.take().filter(|&p| p < state.graph.n_pins()) {
        state.selected_pin = p;
    }
    if state.selected_pin >= state.graph.n_pins() {
        state.selected_pin = initial_pin(&state.graph);
    }
}

fn start_load(app: &mut ExplorerApp, spec: String, split: SplitConfig) {
    app.state.loading = Some(spec.clone());
    app.state.load_progress = None;
    app.state.load_id = app.jobs.load_graph(spec, split);
}

/// Folds one job event into the state.
pub fn apply(state: &mut AppState, ev: JobEvent) {
    match ev {
        JobEvent::GraphLoaded { load, .. }
        | JobEvent::GraphFailed { load, .. }
        | JobEvent::LoadProgress { load, .. }
            if load != 0 && load != state.load_id => {} // a superseded (cancelled) load
        JobEvent::LoadProgress { progress, .. } => state.load_progress = Some(progress),
        JobEvent::GraphLoaded { graph, path, split, .. } => set_loaded_graph(state, graph, path, split),
        JobEvent::GraphFailed { message, .. } => {
            // The graph, the selection and the model stay as they were.
            state.loading = None;
            state.load_progress = None;
            state.errors.push(message);
        }
        JobEvent::Train(ev) => apply_train_event(state, ev),
        JobEvent::TrainFinished(result) => {
            state.run.running = false;
            match result {
                Ok(bundle) => set_model(state, *bundle),
                Err(e) => {
                    if !state.errors.iter().any(|m| m.contains(&e)) {
                        state.errors.push(format!("training failed: {e}"));
                    }
                }
            }
        }
        JobEvent::InferenceProgress { done, total } => state.inference_progress = Some((done, total)),
        JobEvent::InferenceFinished(result) => {
            state.inference_progress = None;
            match result {
                Ok(emb) => {
                    if let Some(m) = &mut state.model {
                        m.embeddings = Some(emb.clone());
                    }
                    state.embeddings = Some(emb);
                    state.embeddings_generation += 1;
                }
                Err(e) => state.errors.push(e),
            }
        }
        JobEvent::Followed { events, .. } => {
            for ev in &events {
                if matches!(ev, TrainEvent::Finished { .. } | TrainEvent::Failed { .. }) {
                    state.run.running = false;
                }
            }
            state.run.events.extend(events);
        }
        JobEvent::FollowFailed { message, .. } => {
            state.run.running = false;
            state.errors.push(message);
        }
        JobEvent::Progress { key, fraction, stage } => {
            if state.pending.contains(&key) {
                state.progress.insert(key, (fraction, stage));
            }
        }
        JobEvent::Computed { key, value, .. } => apply_computed(state, key, value),
    }
}

/// A new graph replaces the old one: edits, the model and every cached result go.
fn set_loaded_graph(state: &mut AppState, graph: Arc<Graph>, path: Option<std::path::PathBuf>, split: SplitConfig) {
    state.loading = None;
    state.load_progress = None;
    state.graph_spec = path.as_ref().map_or_else(|| "default".into(), |p| p.display().to_string());
    state.graph_split = split;
    state.selected_pin = initial_pin(&graph);
    state.selected_board = None;
    state.base_graph = None;
    state.edits.reset();
    state.applying_edits = false;
    state.graph = graph;
    state.graph_generation += 1;
    state.loaded_generation = state.graph_generation;
    state.settings.last_file = path.map(|p| p.display().to_string());
    state.model = None;
    state.embeddings = None;
    state.embeddings_generation += 1;
    state.results.clear();
}

/// A training event of the app's run: the run's state, then the history.
fn apply_train_event(state: &mut AppState, ev: TrainEvent) {
    match &ev {
        TrainEvent::Paused => state.run.paused = true,
        TrainEvent::Resumed => state.run.paused = false,
        TrainEvent::Finished { .. } | TrainEvent::Failed { .. } => state.run.running = false,
        _ => {}
    }
    if let TrainEvent::Failed { message } = &ev {
        state.errors.push(format!("training failed: {message}"));
    }
    state.run.events.push(ev);
}

/// Folds a background computation's result into the state: the edited graph and a run folder's
/// model take effect at once, everything else goes into the results cache.
fn apply_computed(state: &mut AppState, key: CacheKey, value: Result<Computed, String>) {
    state.pending.remove(&key);
    state.progress.remove(&key);
    if value.is_err() && state.cancelled.contains(&key) {
        return; // cancelled by the user: no error to show
    }
    let v = match value {
        Ok(v) if v.fits(&key) => v,
        Ok(_) => return state.errors.push(format!("{key}: a result of the wrong kind (a bug)")),
        Err(e) => return state.errors.push(format!("{key}: {e}")),
    };
    match (&key, &v) {
        (CacheKey::EditedGraph { version }, Computed::Graph(g)) => {
            // Only the latest rebuild counts (an undo may have overtaken it).
            if *version == state.edits.version && !state.edits.is_empty() {
                state.applying_edits = false;
                if state.base_graph.is_none() {
                    state.base_graph = Some(state.graph.clone());
                }
                set_edited_graph(state, Arc::<Graph>::clone(g));
            }
        }
        (CacheKey::RunModel(_), Computed::Model(b)) => set_model(state, ModelBundle::clone(b)),
        _ => {
            state.results.retain(|(k, _)| k != &key);
            state.results.push_back((key, v));
            while state.results.len() > RESULT_CACHE {
                state.results.pop_front();
            }
        }
    }
}

fn set_model(state: &mut AppState, bundle: ModelBundle) {
    state.embeddings = bundle.embeddings.clone();
    state.embeddings_generation += 1;
    state.model = Some(bundle);
    state.model_generation += 1;
    // Views that depend on the model recompute.
    state.results.retain(|(k, _)| !k.uses_model());
}
