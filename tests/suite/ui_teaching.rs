//! The teaching views: their computations (`teach::explain`) against independent expectations, and one
//! UI test that drives every view through its labels.

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use pinsage_explorer::app::panels::walks::WalkPhase;
use pinsage_explorer::app::{AppOptions, ExplorerApp, View};
use pinsage_explorer::explain::{
    EgoNode, NegativeKind, PoolSpace, bundle_embeddings, convolve_trace, curriculum_snapshot, ego_slice,
    pooling_comparison, untrained_bundle, walk_replay,
};
use pinsage_explorer::load::{Format, load_data};
use pinsage_explorer::sampler::{default_band, hard_per_query, hard_pools};
use pinsage_explorer::train::TrainConfig;
use pinsage_explorer::walk::{WalkConfig, neighbourhoods, top_k_of_counts, visit_counts};

fn default_graph() -> pinsage_explorer::graph::Graph {
    load_data("default", Format::Auto).expect("default graph")
}

#[test]
fn walk_replay_counts_equal_the_sampler() {
    let g = default_graph();
    let cfg = WalkConfig { walks: 7, length: 30, ..WalkConfig::default() };
    let r = walk_replay(&g, 11, &cfg).unwrap();
    assert_eq!(r.steps.len(), 7 * 30);
    let mut counts = vec![0u32; g.n_pins() as usize];
    for s in &r.steps {
        // Every step really crosses a board shared by the two pins.
        assert!(g.boards_of(s.from).contains(&s.board) && g.pins_of(s.board).contains(&s.pin));
        if s.pin != 11 {
            counts[s.pin as usize] += 1;
        }
    }
    assert_eq!(counts, visit_counts(&g, 11, &cfg));
    for s in &r.steps {
        assert!(r.positions.contains_key(&s.pin), "pin {} has no position", s.pin);
    }
    assert!(walk_replay(&g, g.n_pins(), &cfg).is_err());
}

#[test]
fn ego_slice_is_bounded_and_made_of_real_edges() {
    let g = default_graph();
    let s = ego_slice(&g, 3, 400).unwrap();
    assert!(s.nodes.len() <= 400 && s.nodes.len() > 1);
    assert!(ego_slice(&g, 3, 50).unwrap().nodes.len() <= 50);
    assert_eq!(s.nodes[0], EgoNode::Pin(3));
    // The centre's boards are all there (when the budget allows).
    for &b in g.boards_of(3) {
        assert!(s.nodes.contains(&EgoNode::Board(b)));
    }
    for &(a, b) in &s.edges {
        match (s.nodes[a as usize], s.nodes[b as usize]) {
            (EgoNode::Pin(p), EgoNode::Board(bd)) => assert!(g.boards_of(p).contains(&bd)),
            other => panic!("edge {other:?} is not pin–board"),
        }
    }
    assert!(ego_slice(&g, g.n_pins() + 5, 100).is_err());
}

#[test]
fn convolve_trace_is_the_real_forward_pass() {
    let g = default_graph();
    let cfg = TrainConfig { hidden_dim: 16, input_dim: 16, ..TrainConfig::paper() };
    let bundle = untrained_bundle(&g, &cfg).expect("fits");
    let pin = 42;
    let t = convolve_trace(&bundle, &g, pin).unwrap();
    assert!(t.forward_diff < 1e-4, "trace differs from forward by {}", t.forward_diff);
    let norm: f32 = t.embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "embedding norm {norm}");
    // Hop 1 is the pin's neighbourhood (distinct, padding excluded).
    let mut nb: Vec<u32> = bundle.neighbourhoods.ids_of(pin).iter().copied().filter(|&v| v != pin).collect();
    nb.sort_unstable();
    nb.dedup();
    let mut hop1 = t.hops[1].clone();
    hop1.sort_unstable();
    assert_eq!(hop1, nb);
    let k = cfg.walk.top_k;
    let n1 = 1 + t.hops[1].len();
    let n0 = n1 + t.hops[2].len();
    let shapes: Vec<&Vec<usize>> = t.steps.iter().map(|s| &s.shape).collect();
    assert_eq!(shapes[0], &vec![n0, 16]);
    assert!(shapes.contains(&&vec![n1, k, 16]), "layer-1 gather shape missing: {shapes:?}");
    assert!(shapes.contains(&&vec![1, k, 16]), "layer-2 gather shape missing: {shapes:?}");
    assert_eq!(shapes.last().unwrap(), &&vec![1, 16]);
    assert!(t.steps.iter().any(|s| s.layer == 3));
    assert!(convolve_trace(&bundle, &g, g.n_pins()).is_err());
}

#[test]
fn curriculum_negatives_and_losses_are_computed() {
    let g = default_graph();
    let cfg = TrainConfig { hidden_dim: 16, input_dim: 16, margin: 0.2, ..TrainConfig::paper() };
    let bundle = untrained_bundle(&g, &cfg).expect("fits");
    let emb = bundle_embeddings(&bundle, &g).unwrap();
    let band = default_band(g.n_pins());
    let pools = hard_pools(&g, band, 16, cfg.seed);
    let q = 7;
    let first = curriculum_snapshot(&g, &emb, &pools, &cfg, q, 1, 10).unwrap();
    assert_eq!(first.negatives.iter().filter(|n| n.kind == NegativeKind::Hard).count(), 0);
    for epoch in [3, 5] {
        let s = curriculum_snapshot(&g, &emb, &pools, &cfg, q, epoch, 10).unwrap();
        let hard: Vec<_> = s.negatives.iter().filter(|n| n.kind == NegativeKind::Hard).collect();
        assert_eq!(hard.len(), hard_per_query(epoch, true, cfg.max_hard_per_query));
        for n in &hard {
            assert!(pools.of(q).contains(&n.pin), "hard negative {} is not in the query's band", n.pin);
        }
        let pos = emb.dot(q, s.positive);
        assert!((s.positive_score - pos).abs() < 1e-6);
        for n in &s.negatives {
            let score = emb.dot(q, n.pin);
            assert!((n.score - score).abs() < 1e-6);
            assert!((n.loss - (score - pos + 0.2).max(0.0)).abs() < 1e-6);
            let higher = (0..g.n_pins()).filter(|&p| emb.dot(q, p) > score).count();
            assert_eq!(n.rank, higher + 1);
        }
    }
}

#[test]
fn pooling_weights_and_related_pins() {
    let g = default_graph();
    let cfg = WalkConfig::default();
    let pin = 5;
    let c = pooling_comparison(&g, pin, &cfg, PoolSpace::Boards, None, 10).unwrap();
    let (nb, _) = neighbourhoods(&g, &[pin], &cfg);
    let (ids, w, _) = nb.of(0);
    let total: f32 = c.importance.weights.iter().map(|x| x.1).sum();
    assert!((total - 1.0).abs() < 1e-5);
    for (id, wt) in ids.iter().zip(w) {
        assert!(c.importance.weights.contains(&(*id, *wt)));
    }
    let u = &c.uniform.weights;
    assert!(u.iter().all(|x| (x.1 - u[0].1).abs() < 1e-7), "uniform weights differ");
    for side in [&c.importance, &c.uniform] {
        assert_eq!(side.related.len(), 10);
        assert!(side.related.iter().all(|r| r.0 != pin));
        assert!(side.related.windows(2).all(|w| w[0].1 >= w[1].1));
    }
    assert!(pooling_comparison(&g, pin, &cfg, PoolSpace::Embeddings, None, 10).is_err());
}

/// Steps frames (with a short sleep, as background jobs finish on their own threads) until `done`.
fn wait_until(h: &mut Harness<'_, ExplorerApp>, what: &str, done: impl FnMut(&ExplorerApp) -> bool) {
    crate::common::wait_for_app(h, what, 60, done);
}

#[test]
fn ui_drives_every_teaching_view() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1360.0, 860.0))
        .wgpu()
        .build_eframe(|cc| ExplorerApp::new(cc, AppOptions { ephemeral: true, ..Default::default() }));
    h.step();
    assert!(h.state().panels.graph.gpu_ready, "the graph shader's pipelines were not created");

    // Graph view: the layout settles, then stops asking for frames.
    wait_until(&mut h, "the layout to settle", |a| a.panels.graph.layout.as_ref().is_some_and(|l| l.settled));
    assert!(!h.state().panels.animating());
    // Search a pin by label and select it; the picture re-centres on it.
    h.get_by_label("Search pin by id or label").set_text_value_accesskit("globe light #26");
    h.step();
    h.step();
    h.get_by_label_contains("26: globe light #26").click();
    wait_until(&mut h, "pin 26 to be selected", |a| a.state.selected_pin == 26);
    h.get_by_label("Centre on selected").click();
    wait_until(&mut h, "pin 26 to be the picture's centre", |a| {
        a.panels.graph.layout.as_ref().is_some_and(|l| l.slice.centre == 26 && l.settled)
    });

    // Walk lab: start, watch counts grow, finish; the counts are the sampler's.
    h.get_by_label("Random walks").click();
    h.run_steps(3);
    h.get_by_role_and_label(egui::accesskit::Role::SpinButton, "Speed").set_value_accesskit(400.0);
    h.step();
    h.get_by_label("Start").click();
    h.step();
    wait_until(&mut h, "the walk to start", |a| a.panels.walks.counts.iter().any(|&c| c > 0));
    let early: u32 = h.state().panels.walks.counts.iter().sum();
    assert_eq!(h.state().panels.walks.phase, WalkPhase::Running);
    wait_until(&mut h, "more visits", |a| a.panels.walks.counts.iter().sum::<u32>() > early);
    h.get_by_role_and_label(egui::accesskit::Role::SpinButton, "Speed").set_value_accesskit(20000.0);
    wait_until(&mut h, "the walk to finish", |a| a.panels.walks.phase == WalkPhase::Finished);
    assert!(!h.state().panels.animating());
    {
        let app = h.state();
        let (g, cfg) = (&app.state.graph, &app.state.settings.walk);
        assert_eq!(app.panels.walks.counts, visit_counts(g, 26, cfg));
        let (nb, _) = neighbourhoods(g, &[26], cfg);
        let top: Vec<u32> = app.panels.walks.top_k(cfg.top_k).iter().map(|t| t.0).collect();
        assert_eq!(top, nb.of(0).0.to_vec());
        assert_eq!(app.panels.walks.top_k(cfg.top_k), top_k_of_counts(&visit_counts(g, 26, cfg), cfg.top_k));
    }
    h.get_by_label("Reset").click();
    h.step();
    assert!(h.state().panels.walks.counts.iter().all(|&c| c == 0));

    // Pooling: switch the pooled vectors; the view shows the new comparison.
    h.get_by_label("Pooling").click();
    wait_until(&mut h, "pooling", |a| a.panels.pooling.shown_key.as_deref().is_some_and(|k| k.ends_with("Boards")));
    h.get_by_label("visual features").click();
    wait_until(&mut h, "feature pooling", |a| {
        a.panels.pooling.shown_key.as_deref().is_some_and(|k| k.ends_with("Features"))
    });
    assert!(h.query_by_label_contains("Importance pooling (PinSage)").is_some());

    // Convolve: the trace arrives; Next layer twice reaches layer 2.
    h.get_by_label("Convolve").click();
    wait_until(&mut h, "the convolve trace", |a| a.panels.convolve.shown_key.is_some());
    h.get_by_label("Next layer").click();
    h.step();
    h.get_by_label("Next layer").click();
    h.step();
    assert_eq!(h.state().panels.convolve.layer, 2);
    assert!(h.query_by_label_contains("Receptive field after this step: 2 hops").is_some());

    // Curriculum: move the epoch slider to 3: two hard negatives per query.
    h.get_by_label("Curriculum").click();
    wait_until(&mut h, "the curriculum", |a| a.panels.curriculum.shown_key.is_some());
    assert!(h.query_by_label_contains("Epoch 1: 0 hard negatives per query").is_some());
    h.get_by_role_and_label(egui::accesskit::Role::SpinButton, "Epoch").set_value_accesskit(3.0);
    wait_until(&mut h, "epoch 3", |a| a.panels.curriculum.shown_key.as_deref().is_some_and(|k| k.contains(":26:3:")));
    assert!(h.query_by_label_contains("Epoch 3: 2 hard negatives per query").is_some());
    assert_eq!(h.get_all_by_label("hard").count(), 2);
    assert_eq!(h.state().state.settings.view, View::Curriculum);
}
