//! The level-two teaching views through the UI: a what-if edit changes the selected pin's
//! neighbourhood and embedding and an undo changes them back; the matrix view and the graph view
//! share the selection and hover; the embedding map's t-SNE and UMAP run in the background, can be
//! cancelled, and the choice is a persisted setting. With `PINSAGE_SCREENSHOTS=DIR` the views are
//! saved as PNGs there.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use pinsage_explorer::app::cache::CacheKey;
use pinsage_explorer::app::jobs::ComputeObserver;
use pinsage_explorer::app::panels::map::MapData;
use pinsage_explorer::app::state::Settings;
use pinsage_explorer::app::{AppOptions, ExplorerApp, View};
use pinsage_explorer::edits::{Edit, EditError, EditStack, apply};
use pinsage_explorer::embed_map::Method;
use pinsage_explorer::explain::{EgoNode, untrained_bundle};
use pinsage_explorer::train::TrainConfig;

use crate::training::cpu_config;

fn harness(view: View) -> Harness<'static, ExplorerApp> {
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).wgpu().build_eframe(move |cc| {
        ExplorerApp::new(cc, AppOptions { ephemeral: true, view: Some(view), ..Default::default() })
    })
}

fn wait(h: &mut Harness<'static, ExplorerApp>, what: &str, done: impl FnMut(&ExplorerApp) -> bool) {
    crate::common::wait_for_app(h, what, 120, done);
}

fn click_at(h: &mut Harness<'static, ExplorerApp>, pos: egui::Pos2) {
    h.hover_at(pos);
    h.step();
    h.drag_at(pos);
    h.drop_at(pos);
    h.step();
    h.step();
}

/// Saves the harness's picture as `name`.png under `PINSAGE_SCREENSHOTS`, if set.
fn shot(h: &mut Harness<'static, ExplorerApp>, name: &str) {
    let Some(dir) = std::env::var_os("PINSAGE_SCREENSHOTS") else { return };
    for _ in 0..3 {
        h.step();
    }
    let img = h.render().expect("render");
    std::fs::create_dir_all(&dir).unwrap();
    img.save(Path::new(&dir).join(format!("{name}.png"))).unwrap();
}

fn set_model(h: &mut Harness<'static, ExplorerApp>, config: &TrainConfig) {
    let g = h.state().state.graph.clone();
    let bundle = untrained_bundle(&g, config).expect("model fits");
    h.state_mut().state.model = Some(bundle);
    h.state_mut().state.embeddings_generation += 1;
}

#[test]
fn edit_stack_applies_checks_and_undoes() {
    let g = crate::common::tiny();
    let mut s = EditStack::default();
    assert_eq!(s.push(&g, Edit::AddEdge { pin: 0, board: 0 }), Err(EditError::AlreadyThere { pin: 0, board: 0 }));
    assert_eq!(s.push(&g, Edit::RemoveEdge { pin: 4, board: 0 }), Err(EditError::NotThere { pin: 4, board: 0 }));
    assert_eq!(s.push(&g, Edit::AddEdge { pin: 9, board: 0 }), Err(EditError::NoSuchPin { pin: 9, n_pins: 5 }));
    let new_pin = |like: u32, boards: Vec<u32>| Edit::AddPin { like, boards, features: None, category: None };
    assert_eq!(s.push(&g, new_pin(0, vec![])), Err(EditError::NoBoards));
    s.push(&g, Edit::AddEdge { pin: 4, board: 0 }).unwrap();
    s.push(&g, Edit::RemoveEdge { pin: 0, board: 1 }).unwrap();
    s.push(&g, new_pin(3, vec![2, 2, 0])).unwrap();
    let e = apply(&g, s.edits()).unwrap();
    assert_eq!((e.n_pins(), e.n_boards(), e.n_edges()), (6, 3, 7 + 1 - 1 + 2));
    assert_eq!(e.pins_of(0), &[0, 1, 4, 5]);
    assert_eq!(e.pins_of(1), &[2, 3]);
    assert_eq!(e.boards_of(5), &[0, 2]);
    assert_eq!(g.n_edges(), 7, "the loaded graph is untouched");
    let v = s.version;
    assert!(s.undo().is_some());
    assert!(s.version > v);
    assert_eq!(apply(&g, s.edits()).unwrap().n_pins(), 5);
    s.reset();
    assert!(s.is_empty() && s.undo().is_none());
}

#[test]
fn a_what_if_edit_changes_the_neighbourhood_and_embedding_and_undo_restores_them() {
    let mut h = harness(View::Graph);
    h.step();
    set_model(&mut h, &cpu_config(1));
    let pin = h.state().state.selected_pin;
    wait(&mut h, "the first comparison", |a| {
        a.panels.whatif.shown.as_ref().is_some_and(|w| w.pin == pin && !w.after.embedding.is_empty())
    });
    let initial = h.state().panels.whatif.shown.clone().unwrap();
    assert!(initial.before.is_none(), "nothing to compare before an edit");
    assert!(!initial.after.neighbourhood.is_empty() && !initial.after.nearest.is_empty());
    let g0 = h.state().state.graph.clone();
    let board = g0.boards_of(pin)[0];

    h.get_by_label(&format!("Remove from {}", g0.board_label(board))).click();
    wait(&mut h, "the edited comparison", |a| {
        a.state.base_graph.is_some()
            && a.panels.whatif.shown.as_ref().is_some_and(|w| w.before.is_some() && !w.after.embedding.is_empty())
    });
    {
        let app = h.state();
        assert!(!app.state.graph.boards_of(pin).contains(&board), "the edge is gone from the edited graph");
        assert!(app.state.loaded_graph().boards_of(pin).contains(&board), "the loaded graph keeps it");
        assert!(h.query_by_label_contains("Edited graph: 1 edit(s)").is_some(), "the view says the graph is edited");
        let w = app.panels.whatif.shown.as_ref().unwrap();
        assert_eq!(w.before.as_ref(), Some(&initial.after), "before = the unedited picture");
        assert_ne!(w.after.visits, initial.after.visits, "the walks changed");
        assert_ne!(w.after.neighbourhood, initial.after.neighbourhood, "the neighbourhood changed");
        let moved: f32 = w.after.embedding.iter().zip(&initial.after.embedding).map(|(a, b)| (a - b).abs()).sum();
        assert!(moved > 1e-4, "the embedding changed (moved {moved})");
    }
    // The graph view rebuilt its picture on the edited graph.
    wait(&mut h, "the edited picture", |a| {
        a.panels.graph.layout.as_ref().is_some_and(|l| matches!(l.key, pinsage_explorer::app::cache::CacheKey::EgoSlice { graph, .. } if graph == a.state.graph_generation))
    });
    shot(&mut h, "whatif");

    h.get_by_label("Undo edit").click();
    wait(&mut h, "the loaded graph again", |a| {
        a.state.base_graph.is_none()
            && a.panels.whatif.shown.as_ref().is_some_and(|w| w.before.is_none() && !w.after.embedding.is_empty())
    });
    assert_eq!(
        h.state().panels.whatif.shown.as_ref().unwrap(),
        &initial,
        "undo restores walks, neighbourhood and embedding"
    );
    assert!(h.state().state.graph.boards_of(pin).contains(&board));
}

#[test]
fn a_new_pin_gets_the_features_and_category_given_and_bad_ones_are_refused() {
    let g = pinsage_explorer::synthetic::generate(&Default::default());
    let dim = g.features.as_ref().unwrap().dim;
    let n_cat = g.categories.as_ref().unwrap().names.len();
    let mine = vec![0.25; dim];
    let add = |features: Option<Vec<f32>>, category: Option<u16>| Edit::AddPin {
        like: 1,
        boards: vec![0],
        features,
        category,
    };
    let e = apply(&g, &[add(Some(mine.clone()), Some(2))]).unwrap();
    let new = g.n_pins();
    assert_eq!(e.features.as_ref().unwrap().row(new), &mine[..]);
    assert_eq!(e.categories.as_ref().unwrap().of_pin[new as usize], 2);
    let copy = apply(&g, &[add(None, None)]).unwrap();
    assert_eq!(copy.features.as_ref().unwrap().row(new), g.features.as_ref().unwrap().row(1), "none given: pin 1's");
    assert_eq!(copy.categories.as_ref().unwrap().of_pin[new as usize], g.categories.as_ref().unwrap().of_pin[1]);
    let mut s = EditStack::default();
    assert_eq!(
        s.push(&g, add(Some(vec![0.5; dim + 1]), None)),
        Err(EditError::FeatureCount { want: dim, got: dim + 1 })
    );
    assert_eq!(s.push(&g, add(Some(vec![f32::NAN; dim]), None)), Err(EditError::FeatureNotFinite { column: 0 }));
    assert_eq!(
        s.push(&g, add(None, Some(n_cat as u16))),
        Err(EditError::NoSuchCategory { category: n_cat as u16, n: n_cat })
    );
    let bare = crate::common::tiny();
    assert_eq!(s.push(&bare, add(Some(vec![1.0]), None)), Err(EditError::NoFeatures));
    assert!(s.is_empty());
}

/// Adds a new pin from the what-if panel (with the feature values set first, if given) and
/// returns its embedding once the comparison shows it; then resets the edits.
fn add_new_pin(h: &mut Harness<'static, ExplorerApp>, values: Option<&[f64]>) -> (Vec<f32>, Vec<f32>) {
    let n = h.state().state.graph.n_pins();
    if let Some(values) = values {
        for (i, v) in values.iter().enumerate() {
            h.get_by_role_and_label(Role::SpinButton, &format!("feature {}", i + 1)).set_value_accesskit(*v);
            h.step();
        }
        h.step();
        shot(h, "whatif_new_pin");
    }
    h.get_by_label("Add the new pin").click();
    wait(h, "the new pin's comparison", |a| {
        a.state.selected_pin == n
            && a.panels.whatif.shown.as_ref().is_some_and(|w| w.pin == n && !w.after.embedding.is_empty())
    });
    let features = h.state().state.graph.features.as_ref().unwrap().row(n).to_vec();
    let embedding = h.state().panels.whatif.shown.as_ref().unwrap().after.embedding.clone();
    h.get_by_label("Reset edits").click();
    wait(h, "the loaded graph", |a| a.state.base_graph.is_none() && a.state.graph.n_pins() == n);
    (features, embedding)
}

#[test]
fn the_features_given_to_a_new_pin_reach_a_feature_only_model() {
    let mut h = harness(View::Graph);
    h.step();
    set_model(&mut h, &TrainConfig { id_embedding: false, ..cpu_config(1) });
    let like = h.state().state.selected_pin;
    wait(&mut h, "the first comparison", |a| a.panels.whatif.shown.as_ref().is_some_and(|w| w.pin == like));
    let own = h.state().state.graph.features.as_ref().unwrap().row(like).to_vec();
    assert_eq!(h.state().panels.whatif.new_pin.as_ref().unwrap().features, own, "the draft starts as a copy");
    let (copied, e_copy) = add_new_pin(&mut h, None);
    assert_eq!(copied, own);
    // The same pin again, from the same boards, with other feature values typed in.
    h.state_mut().state.commands.push(pinsage_explorer::app::state::Command::SelectPin(like));
    wait(&mut h, "the pin again", |a| a.panels.whatif.shown.as_ref().is_some_and(|w| w.pin == like));
    let values: Vec<f64> = own.iter().map(|&x| if x > 0.5 { 0.05 } else { 0.95 }).collect();
    let (given, e_given) = add_new_pin(&mut h, Some(&values));
    let want: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    assert_eq!(given, want, "the new pin holds the values typed in");
    let moved: f32 = e_copy.iter().zip(&e_given).map(|(a, b)| (a - b).abs()).sum();
    assert!(moved > 1e-3, "its features reach the model: the embedding moved by only {moved}");
}

#[test]
fn training_on_an_edited_graph_is_flagged_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut h = harness(View::Graph);
    h.step();
    let pin = h.state().state.selected_pin;
    wait(&mut h, "the what-if panel", |a| a.panels.whatif.shown.as_ref().is_some_and(|w| w.pin == pin));
    let g0 = h.state().state.graph.clone();
    let board = g0.boards_of(pin)[0];
    h.get_by_label(&format!("Remove from {}", g0.board_label(board))).click();
    wait(&mut h, "the edit", |a| a.state.base_graph.is_some());
    h.state_mut().state.commands.push(pinsage_explorer::app::state::Command::SetView(View::Training));
    h.step();
    h.step();
    assert!(h.query_by_label_contains("training now trains on the edited graph").is_some(), "the notice is shown");
    shot(&mut h, "training_edited");
    {
        let t = &mut h.state_mut().panels.training;
        t.draft = TrainConfig { epochs: 1, ..cpu_config(1) };
        t.save_run = true;
        t.out_dir = out.display().to_string();
    }
    h.step();
    h.get_by_label("Start training").click();
    wait(&mut h, "the run", |a| !a.state.run.running && !a.state.run.events.is_empty());
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    let edits = config["graph_edits"].as_array().expect("config.json records the edits");
    assert_eq!(edits.len(), 1);
    assert!(edits[0].as_str().unwrap().starts_with("- "), "{edits:?}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("what-if edit(s) applied"), "the run's notes say so");
    // Reloading the run says the graph it trained on had edits.
    let loaded = pinsage_explorer::run_folder::load_run_config(&out).unwrap();
    assert!(loaded.notes.iter().any(|n| n.contains("1 what-if edit(s)")), "{:?}", loaded.notes);
    // As a --config file it trains on the file's graph, so the edits are not carried over.
    assert!(TrainConfig::load(&out.join("config.json")).unwrap().graph_edits.is_empty());

    h.get_by_label("Reset edits (train on the loaded graph)").click();
    wait(&mut h, "the loaded graph", |a| a.state.base_graph.is_none());
    h.step();
    assert!(h.query_by_label_contains("training now trains on the edited graph").is_none(), "the notice is gone");
    assert!(h.state().state.edits.is_empty());
}

#[test]
fn a_new_pin_is_embedded_by_a_feature_model_and_reset_removes_it() {
    let mut h = harness(View::Graph);
    h.step();
    set_model(&mut h, &TrainConfig { id_embedding: false, ..cpu_config(1) });
    let n = h.state().state.graph.n_pins();
    let like = h.state().state.selected_pin;
    wait(&mut h, "the first comparison", |a| a.panels.whatif.shown.is_some());
    h.get_by_label("Add the new pin").click();
    wait(&mut h, "the new pin's comparison", |a| {
        a.state.selected_pin == n
            && a.panels.whatif.shown.as_ref().is_some_and(|w| w.pin == n && !w.after.embedding.is_empty())
    });
    {
        let app = h.state();
        assert_eq!(app.state.graph.n_pins(), n + 1);
        let w = app.panels.whatif.shown.as_ref().unwrap();
        assert!(w.before.is_none(), "a new pin has no before");
        assert!(!w.after.neighbourhood.is_empty(), "it walks over its boards");
        // Same features, same boards: its look-alike is among its nearest pins.
        assert!(w.after.nearest.iter().any(|(q, _)| *q == like), "{:?}", w.after.nearest);
    }
    h.get_by_label("Reset edits").click();
    wait(&mut h, "the loaded graph", |a| a.state.base_graph.is_none() && a.state.graph.n_pins() == n);
    assert!(h.state().state.edits.is_empty());
}

#[test]
fn matrix_and_graph_views_share_selection_and_hover() {
    let mut h = harness(View::Graph);
    wait(&mut h, "the matrix", |a| {
        !a.panels.matrix.rows.is_empty() && a.panels.graph.layout.as_ref().is_some_and(|l| l.settled)
    });
    h.step();
    // A filled cell away from the selected pin's row.
    let (p, b) = {
        let app = h.state();
        let (m, g) = (&app.panels.matrix, &app.state.graph);
        let sel = app.state.selected_pin;
        m.rows
            .iter()
            .filter(|&&p| p != sel)
            .find_map(|&p| m.cols.iter().find(|b| g.boards_of(p).contains(b)).map(|&b| (p, b)))
            .expect("a filled cell")
    };
    let pos = h.state().panels.matrix.cell_centre(p, b).unwrap();
    h.hover_at(pos);
    h.step();
    h.step();
    assert_eq!((h.state().state.hovered_pin, h.state().state.hovered_board), (Some(p), Some(b)));
    assert!(h.state().panels.graph.ringed.contains(&EgoNode::Pin(p)), "hovering a cell lights its pin in the graph");
    click_at(&mut h, pos);
    assert_eq!(h.state().state.selected_pin, p, "a cell selects its pin");
    assert_eq!(h.state().state.selected_board, Some(b), "and its board");
    assert!(h.state().panels.graph.ringed.contains(&EgoNode::Board(b)), "the graph view rings the board");
    assert_eq!(h.state().panels.matrix.selected_row, Some(p));
    shot(&mut h, "matrix");

    // The other way: a board clicked in the graph view lights its column in the matrix.
    let (b2, pos2) = {
        let app = h.state();
        let (l, screen, m) = (app.panels.graph.layout.as_ref().unwrap(), &app.panels.graph.screen, &app.panels.matrix);
        (0..l.slice.nodes.len())
            .filter_map(|i| match l.slice.nodes[i] {
                EgoNode::Board(q) if q != b && m.cols.contains(&q) => Some((q, screen[i], i)),
                _ => None,
            })
            .find(|&(_, s, i)| screen.iter().enumerate().all(|(j, t)| j == i || t.distance(s) > 12.0))
            .map(|(q, s, _)| (q, s))
            .expect("a board apart from the others")
    };
    h.hover_at(pos2);
    h.step();
    h.step();
    assert_eq!(h.state().state.hovered_board, Some(b2));
    assert_eq!(h.state().panels.matrix.hovered_col, Some(b2), "hovering a board lights its column");
    click_at(&mut h, pos2);
    assert_eq!(h.state().state.selected_board, Some(b2));
    assert_eq!(h.state().panels.matrix.selected_col, Some(b2), "the matrix lights the selected board");
}

/// A compute observer that holds the first progress report of a computation whose key contains
/// `what` until released (so a Cancel click lands while the job runs), and says when it got there.
fn hold_first(what: &'static str) -> (ComputeObserver, Receiver<()>, Sender<()>) {
    let (reached_tx, reached_rx) = bounded::<()>(1);
    let (release_tx, release_rx) = bounded::<()>(1);
    let held = AtomicBool::new(false);
    let observer = move |key: &CacheKey, _: f32, _: &str| {
        if key.to_string().contains(what) && !held.swap(true, Ordering::Relaxed) {
            let _ = reached_tx.send(());
            let _ = release_rx.recv_timeout(std::time::Duration::from_secs(60));
        }
    };
    (Arc::new(observer), reached_rx, release_tx)
}

#[test]
fn map_method_is_a_setting_and_tsne_umap_run_with_cancel() {
    // Persisted with the other settings; an older settings file without it gets PCA.
    let s = Settings { map_method: Method::Umap, ..Settings::default() };
    let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back.map_method, Method::Umap);
    let old: Settings = serde_json::from_str(r#"{"view":"map"}"#).unwrap();
    assert_eq!(old.map_method, Method::Pca);

    let mut h = harness(View::Map);
    h.step();
    wait(&mut h, "the PCA map", |a| !a.panels.map.drawn.is_empty());
    // UMAP is held at its first progress report until the Cancel click has landed.
    let (observer, reached, release) = hold_first("Umap");
    h.state_mut().jobs.compute_observer = Some(observer);
    h.get_by_label("UMAP").click();
    h.step();
    h.step();
    assert_eq!(h.state().state.settings.map_method, Method::Umap);
    wait(&mut h, "the held UMAP job", |_| reached.try_recv().is_ok());
    let key = h.state().panels.map.key.clone().unwrap();
    let name = key.to_string();
    assert!(name.contains("Umap"), "{name}");
    wait(&mut h, "UMAP's progress", |a| a.state.progress.contains_key(&key));
    assert!(h.state().state.is_pending(&key));
    assert!(h.query_by_label_contains("UMAP: nearest neighbours").is_some(), "the stage is shown");
    shot(&mut h, "map_progress");
    h.get_by_label("Cancel").click();
    h.step();
    h.step();
    release.send(()).unwrap();
    wait(&mut h, "the cancel", |a| a.state.cancelled.contains(&key) && !a.state.is_pending(&key));
    h.state_mut().jobs.compute_observer = None;
    assert!(h.state().state.errors.is_empty(), "a cancel is not an error: {:?}", h.state().state.errors);
    assert!(h.state().state.result::<MapData>(&key).is_none(), "the cancelled job left no map");
    h.step();
    assert!(h.query_by_label("UMAP was cancelled.").is_some());
    h.get_by_label("Compute again").click();
    wait(&mut h, "the UMAP map", |a| a.state.result::<MapData>(&key).is_some());
    h.step();
    shot(&mut h, "map_umap");
    h.get_by_label("t-SNE").click();
    wait(&mut h, "the t-SNE map", |a| {
        a.panels.map.key.as_ref().is_some_and(|k| k.to_string().contains("Tsne"))
            && a.state.result::<MapData>(a.panels.map.key.as_ref().unwrap()).is_some()
    });
    h.step();
    assert_eq!(h.state().panels.map.drawn.len(), h.state().state.graph.n_pins() as usize);
    shot(&mut h, "map_tsne");
}
