//! The app with the user's own data: the Open dialog's and the Training view's split options,
//! large loads with progress and Cancel, memory-check failures, recommendations in the search
//! box, and the Results view's baselines beside the model.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, bounded};

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use pinsage_explorer::app::{AppOptions, Command, ExplorerApp, View};
use pinsage_explorer::baselines::{EASE_LAMBDAS, evaluate_baselines};
use pinsage_explorer::graph::{Graph, Split};
use pinsage_explorer::infer::Embeddings;
use pinsage_explorer::jobs::LoadObserver;
use pinsage_explorer::load::{CHECK_EVERY_LINES, LoadProgress, LoadStage};
use pinsage_explorer::split::{HoldoutBy, SplitConfig};

use crate::loading::write_edges;

fn harness(view: View) -> Harness<'static, ExplorerApp> {
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(move |cc| {
        ExplorerApp::new(cc, AppOptions { ephemeral: true, view: Some(view), ..Default::default() })
    })
}

fn wait_for(h: &mut Harness<'static, ExplorerApp>, what: &str, done: impl Fn(&ExplorerApp) -> bool) {
    crate::common::wait_for_app(h, what, 60, done);
}

/// A few frames: a command runs the frame after the click, and a new window needs a sizing pass.
fn steps(h: &mut Harness<'static, ExplorerApp>) {
    for _ in 0..4 {
        h.step();
    }
}

/// Four boards of five pins each (20 edges, no test edges of its own).
fn five_pin_boards() -> Vec<u8> {
    let mut s = String::from("pin,board\n");
    for b in 0..4 {
        for i in 0..5 {
            s.push_str(&format!("p{},b{b}\n", 3 * b + i));
        }
    }
    s.into_bytes()
}

fn set_split(h: &mut Harness<'static, ExplorerApp>, holdout: &str, validation: &str, seed: &str) {
    h.get_by_role_and_label(Role::TextInput, "Holdout").set_text_value_accesskit(holdout);
    h.get_by_role_and_label(Role::TextInput, "Validation").set_text_value_accesskit(validation);
    h.get_by_role_and_label(Role::TextInput, "Split seed").set_text_value_accesskit(seed);
    steps(h);
}

#[test]
fn open_dialog_and_training_view_split_the_graph_and_refuse_bad_values() {
    let (_d, path) = crate::common::temp_file("boards.csv", &five_pin_boards());
    let mut h = harness(View::Graph);
    h.step();
    let before = h.state().state.graph.clone();
    h.get_by_label("Open…").click();
    steps(&mut h);
    assert!(h.state().panels.open.visible, "Open… shows the dialog");
    h.get_by_label("Graph file").set_text_value_accesskit(&path.display().to_string());

    // Not a number: a message under the form, and Open stays disabled.
    set_split(&mut h, "abc", "0.25", "3");
    assert!(h.query_by_label_contains("holdout: `abc` is not a number").is_some());
    h.get_by_label("Open").click();
    steps(&mut h);
    assert!(h.state().panels.open.visible && h.state().state.loading.is_none(), "nothing opened");

    // Out of range: refused with a message; the graph stays.
    set_split(&mut h, "1.5", "0.25", "3");
    h.get_by_label("Open").click();
    steps(&mut h);
    assert!(h.state().state.loading.is_none());
    assert!(
        h.state().state.errors.iter().any(|e| e.contains("holdout must be in [0, 1), got 1.5")),
        "{:?}",
        h.state().state.errors
    );
    assert!(Arc::ptr_eq(&h.state().state.graph, &before));
    assert_eq!(h.state().state.settings.split, SplitConfig::default(), "a refused split is not remembered");
    h.state_mut().state.errors.clear();

    // A good split: per board of 5, round(0.4·5) = 2 test pins, then round(0.25·3) = 1 validation pin.
    h.get_by_label("Open…").click();
    steps(&mut h);
    set_split(&mut h, "0.4", "0.25", "3");
    h.get_by_label("Open").click();
    wait_for(&mut h, "the split graph", |a| a.state.graph_generation == 1);
    let want = SplitConfig { holdout: 0.4, holdout_by: HoldoutBy::Random, validation: 0.25, seed: 3 };
    {
        let s = &h.state().state;
        assert_eq!((s.graph.n_test_edges(), s.graph.n_validation_edges(), s.graph.n_edges()), (8, 4, 8));
        assert_eq!((s.settings.split, s.graph_split), (want, want), "remembered, and the graph's split");
        assert!(!h.state().panels.open.visible);
    }

    // The Training view shows the graph's split and re-splits it in the background.
    h.get_by_label("Training").click();
    steps(&mut h);
    assert!(h.query_by_label_contains("now: holdout 0.4 (random) · validation 0.25 · seed 3").is_some());
    let form = &h.state().panels.training.split;
    assert_eq!((form.holdout.as_str(), form.validation.as_str(), form.seed.as_str()), ("0.4", "0.25", "3"));
    set_split(&mut h, "0.2", "0", "3");
    h.get_by_label("Re-split graph").click();
    wait_for(&mut h, "the re-split graph", |a| a.state.graph_generation == 2);
    {
        let s = &h.state().state;
        assert_eq!((s.graph.n_test_edges(), s.graph.n_validation_edges(), s.graph.n_edges()), (4, 0, 16));
        assert_eq!(s.graph_split, SplitConfig { holdout: 0.2, validation: 0.0, ..want });
    }
    let kept = h.state().state.graph.clone();
    // Out of range in the Training view: refused, nothing reloaded.
    set_split(&mut h, "0.2", "1", "3");
    h.get_by_label("Re-split graph").click();
    steps(&mut h);
    assert!(h.state().state.errors.iter().any(|e| e.contains("validation must be in [0, 1), got 1")));
    assert!(h.state().state.loading.is_none() && Arc::ptr_eq(&h.state().state.graph, &kept));
    // By time without timestamps: the loader refuses; the graph stays.
    set_split(&mut h, "0.2", "0", "3");
    h.get_by_label("time").click();
    steps(&mut h);
    h.get_by_label("Re-split graph").click();
    wait_for(&mut h, "the refusal", |a| {
        a.state.loading.is_none() && a.state.errors.iter().any(|e| e.contains("timestamp"))
    });
    assert!(Arc::ptr_eq(&h.state().state.graph, &kept));
    assert_eq!(h.state().state.graph_generation, 2);
}

/// A load observer that holds the loading thread at its first parsing report until released:
/// (observer, "reached" receiver, release sender). Dropping the sender releases it too.
pub(crate) fn parse_gate() -> (LoadObserver, Receiver<()>, Sender<()>) {
    let (reached_tx, reached_rx) = bounded::<()>(1);
    let (release_tx, release_rx) = bounded::<()>(1);
    let held = std::sync::atomic::AtomicBool::new(false);
    let observer = move |p: &LoadProgress| {
        if p.stage == LoadStage::Parsing && !held.swap(true, std::sync::atomic::Ordering::Relaxed) {
            let _ = reached_tx.send(());
            let _ = release_rx.recv_timeout(std::time::Duration::from_secs(60));
        }
    };
    (Arc::new(observer), reached_rx, release_tx)
}

#[test]
fn a_large_load_shows_progress_and_cancel_or_a_memory_failure_keeps_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    write_edges(&big, 200_000);
    let mut h = harness(View::Graph);
    h.step();
    let before = h.state().state.graph.clone();
    // The load is held at its first parsing report, so Cancel lands while it runs.
    let (observer, reached, release) = parse_gate();
    h.state_mut().jobs.load_observer = Some(observer);
    h.state_mut().state.commands.push(Command::SelectPin(5));
    h.state_mut().state.commands.push(Command::Open(big.display().to_string()));
    wait_for(&mut h, "the held load", |_| reached.try_recv().is_ok());
    wait_for(&mut h, "parsing progress", |a| {
        a.state.load_progress.is_some_and(|p| p.stage == LoadStage::Parsing && p.lines == CHECK_EVERY_LINES)
    });
    assert!(h.state().state.loading.is_some());
    assert!(h.query_by_label_contains("parsing: 16384 lines").is_some(), "the top bar shows how far the load has got");
    // The UI keeps drawing while the load is held.
    let frames = h.ctx.cumulative_pass_nr();
    steps(&mut h);
    assert!(h.ctx.cumulative_pass_nr() > frames);
    h.get_by_label("Cancel").click();
    steps(&mut h);
    release.send(()).unwrap();
    wait_for(&mut h, "the cancelled load", |a| a.state.loading.is_none());
    h.state_mut().jobs.load_observer = None;
    {
        let s = &h.state().state;
        assert!(s.errors.iter().any(|e| e.contains("big.csv") && e.contains("cancelled")), "{:?}", s.errors);
        assert!(Arc::ptr_eq(&s.graph, &before), "the graph stays");
        assert_eq!((s.selected_pin, s.graph_generation, s.load_progress), (5, 0, None), "and the selection");
    }
    assert!(h.query_by_label("Cancel").is_none(), "no Cancel once nothing loads");

    // A memory-check failure: the message names the need and the budget; the graph stays.
    h.state_mut().state.errors.clear();
    let small = dir.path().join("small.csv");
    write_edges(&small, 500);
    h.state_mut().jobs.load_memory_budget = Some(1 << 10);
    h.state_mut().state.commands.push(Command::Open(small.display().to_string()));
    wait_for(&mut h, "the refusal", |a| a.state.loading.is_none() && !a.state.errors.is_empty());
    let e = h.state().state.errors[0].clone();
    assert!(
        e.contains("small.csv") && e.contains("reading the file needs") && e.contains("budget is 0.001 MiB"),
        "{e}"
    );
    assert!(Arc::ptr_eq(&h.state().state.graph, &before) && h.state().state.selected_pin == 5);

    // Within budget it opens; a load started while another runs supersedes it.
    h.state_mut().jobs.load_memory_budget = None;
    h.state_mut().state.commands.push(Command::Open(big.display().to_string()));
    h.state_mut().state.commands.push(Command::Open(small.display().to_string()));
    wait_for(&mut h, "the small graph", |a| a.state.graph_generation == 1);
    let g = h.state().state.graph.clone();
    assert!(g.source.ends_with("small.csv"));
    assert_eq!(g.n_edges() + g.n_test_edges() + g.n_validation_edges(), 500);
    for _ in 0..20 {
        h.step();
    }
    assert!(Arc::ptr_eq(&h.state().state.graph, &g), "the superseded load never replaces it");
}

/// Unit-length-free embeddings scoring every pin by its id: pin p = (p + 1, 0), every board (1, 0).
fn by_id_embeddings(g: &Graph) -> Embeddings {
    let mut data = Vec::new();
    for p in 0..g.n_pins() {
        data.extend([p as f32 + 1.0, 0.0]);
    }
    for _ in 0..g.n_boards() {
        data.extend([1.0, 0.0]);
    }
    Embeddings { dim: 2, n_pins: g.n_pins() as usize, data }
}

#[test]
fn search_box_recommends_pins_for_a_board_and_related_pins_for_a_pin() {
    let mut h = harness(View::Graph);
    h.step();
    let g = h.state().state.graph.clone();
    // Without a model: matches only, and a hint.
    h.get_by_label("Search pin by id or label").set_text_value_accesskit("123");
    steps(&mut h);
    assert!(h.query_by_label_contains("Train or load a model").is_some());
    assert!(h.state().panels.pin_search.shown.is_empty());

    h.state_mut().state.embeddings = Some(Arc::new(by_id_embeddings(&g)));
    h.state_mut().state.embeddings_generation += 1;
    wait_for(&mut h, "both lists", |a| a.panels.pin_search.shown.len() == 2);
    let shown = h.state().panels.pin_search.shown.clone();
    // Board 123 (label "board 123: …"): the highest ids it does not already have.
    let known = g.pins_of(123);
    let want: Vec<u32> = (0..g.n_pins()).rev().filter(|p| !known.contains(p)).take(20).collect();
    assert_eq!(shown[0].items.iter().map(|x| x.0).collect::<Vec<_>>(), want);
    assert_eq!((shown[0].title.as_str(), shown[0].excluded), (g.board_label(123).as_str(), known.len()));
    // Pin 123: the highest ids but itself (score (p + 1)·124).
    let want: Vec<(u32, f32)> =
        (0..g.n_pins()).rev().filter(|&p| p != 123).take(20).map(|p| (p, (p + 1) as f32 * 124.0)).collect();
    assert_eq!(shown[1].items, want);
    assert!(h.query_by_label_contains(&format!("Recommended for {}", g.board_label(123))).is_some());
    assert!(h.query_by_label_contains(&format!("Related to {}", g.pin_label(123))).is_some());
    // A click selects the recommended pin (the board's list comes first).
    let third = shown[0].items[2].0;
    h.get_all_by_label(&format!(" 3. {}", g.pin_label(third))).next().unwrap().click();
    wait_for(&mut h, "the selection", |a| a.state.selected_pin == third);
}

/// MostPopular's recall@20 on the test edges, computed here from the definitions.
fn most_popular_recall(g: &Graph) -> f64 {
    let mut order: Vec<u32> = (0..g.n_pins()).collect();
    order.sort_by_key(|&p| (std::cmp::Reverse(g.boards_of(p).len()), p));
    let (mut sum, mut n) = (0.0, 0);
    for b in 0..g.n_boards() {
        let test = g.test_pins_of(b);
        if test.is_empty() {
            continue;
        }
        let known = g.pins_of(b);
        let top: Vec<u32> = order.iter().copied().filter(|p| !known.contains(p)).take(20).collect();
        sum += test.iter().filter(|p| top.contains(p)).count() as f64 / test.len() as f64;
        n += 1;
    }
    sum / n as f64
}

#[test]
fn results_view_draws_the_baselines_beside_the_model() {
    let mut h = harness(View::Results);
    h.step();
    let g = h.state().state.graph.clone();
    // No model yet: the baselines alone.
    wait_for(&mut h, "the baseline bars", |a| !a.panels.results.baselines.drawn.is_empty());
    let drawn = h.state().panels.results.baselines.drawn.clone();
    let titles: Vec<&str> = drawn.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(titles, ["recall@20", "ndcg@20"]);
    let names: Vec<&str> = drawn[0].1.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(names, ["MostPopular", "ItemKNN", "EASE^R", "visual only"], "the default graph has features");
    assert!(
        (drawn[0].1[0].1 - most_popular_recall(&g)).abs() < 1e-9,
        "{} vs {}",
        drawn[0].1[0].1,
        most_popular_recall(&g)
    );
    let seed = h.state().state.settings.train.seed;
    let rows = evaluate_baselines(&g, seed, EASE_LAMBDAS, u64::MAX);
    for (bar, row) in drawn[1].1.iter().zip(&rows) {
        assert_eq!(bar.1, row.metrics.as_ref().unwrap().ndcg_at_20, "{}", bar.0);
    }
    assert!(h.query_by_label_contains("No model yet").is_some());

    // With embeddings: the model's bar first, on the same test split.
    let emb = Arc::new(by_id_embeddings(&g));
    h.state_mut().state.embeddings = Some(emb.clone());
    h.state_mut().state.embeddings_generation += 1;
    wait_for(&mut h, "the model's bars", |a| {
        a.panels.results.baselines.drawn.first().is_some_and(|d| d.1[0].0.contains("this model"))
    });
    let drawn = h.state().panels.results.baselines.drawn.clone();
    let m = pinsage_explorer::train::evaluate_embeddings(&g, &emb, seed, Split::Test);
    assert_eq!(drawn[0].1[0], ("LightGCN (this model)".to_string(), m.recall_at_20));
    assert_eq!(drawn[1].1[0].1, m.ndcg_at_20);
    assert_eq!(drawn[0].1[1].0, "MostPopular");
}
