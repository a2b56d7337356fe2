//! The level-two teaching views through the UI: a what-if edit changes the selected pin's
//! neighbourhood and embedding and an undo changes them back; the matrix view and the graph view
//! share the selection and hover; the embedding map's t-SNE and UMAP run in the background, can be
//! cancelled, and the choice is a persisted setting. With `PINSAGE_SCREENSHOTS=DIR` the views are
//! saved as PNGs there.

use std::path::Path;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
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
    assert_eq!(s.push(&g, Edit::AddPin { like: 0, boards: vec![] }), Err(EditError::NoBoards));
    s.push(&g, Edit::AddEdge { pin: 4, board: 0 }).unwrap();
    s.push(&g, Edit::RemoveEdge { pin: 0, board: 1 }).unwrap();
    s.push(&g, Edit::AddPin { like: 3, boards: vec![2, 2, 0] }).unwrap();
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
fn a_new_pin_is_embedded_by_a_feature_model_and_reset_removes_it() {
    let mut h = harness(View::Graph);
    h.step();
    set_model(&mut h, &TrainConfig { id_embedding: false, ..cpu_config(1) });
    let n = h.state().state.graph.n_pins();
    let like = h.state().state.selected_pin;
    wait(&mut h, "the first comparison", |a| a.panels.whatif.shown.is_some());
    h.get_by_label("Add a new pin like this one").click();
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

#[test]
#[ignore = "races on a loaded machine: the UMAP job can end before the Cancel click lands (passes alone: cargo test --release -- --ignored ui_whatif)"]
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
    h.get_by_label("UMAP").click();
    h.step();
    h.step();
    assert_eq!(h.state().state.settings.map_method, Method::Umap);
    h.step();
    let key = h.state().panels.map.key.clone().unwrap();
    let name = key.to_string();
    assert!(name.contains("Umap"), "{name}");
    h.get_by_label("Cancel").click();
    h.step();
    h.step();
    wait(&mut h, "the cancel to be recorded", |a| a.state.cancelled.contains(&key));
    wait(&mut h, "the cancel", |a| !a.state.is_pending(&key));
    assert!(h.state().state.errors.is_empty(), "a cancel is not an error: {:?}", h.state().state.errors);
    // (The job itself stopping is checked in embed_map::cancel_stops_the_map…: on this small
    // graph UMAP may have finished before the click.)
    if h.state().state.result::<pinsage_explorer::app::panels::map::MapData>(&key).is_none() {
        h.step();
        h.get_by_label("Compute again").click();
    }
    wait(&mut h, "the UMAP map", |a| a.state.result::<pinsage_explorer::app::panels::map::MapData>(&key).is_some());
    h.step();
    shot(&mut h, "map_umap");
    h.get_by_label("t-SNE").click();
    wait(&mut h, "the t-SNE map", |a| {
        a.panels.map.key.as_ref().is_some_and(|k| k.to_string().contains("Tsne"))
            && a.state
                .result::<pinsage_explorer::app::panels::map::MapData>(a.panels.map.key.as_ref().unwrap())
                .is_some()
    });
    h.step();
    assert_eq!(h.state().panels.map.drawn.len(), h.state().state.graph.n_pins() as usize);
    shot(&mut h, "map_tsne");
}
