//! The app under a long session: open a graph, train from it, try and cancel a large load, open
//! another graph, many times over; the process's resident memory must level off, and every graph
//! that was closed must really be freed.

use std::sync::{Arc, Weak};

use eframe::egui;
use egui_kittest::Harness;
use pinsage_explorer::app::{AppOptions, Command, ExplorerApp, View};
use pinsage_explorer::graph::Graph;

use crate::loading::write_edges;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// glibc: give free heap memory back to the system (all arenas), so that RSS measures what is
    /// in use rather than what the allocator keeps cached.
    fn malloc_trim(pad: usize) -> i32;
}

/// Resident set size in pages (/proc/self/statm's second field) after trimming the allocator's
/// free lists; only ratios are compared.
fn rss_pages() -> u64 {
    // SAFETY: malloc_trim only releases free memory; it takes no pointers.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        malloc_trim(0)
    };
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("resident pages")
}

const ROUNDS: usize = 36;

/// RSS belongs to the whole process, and the suite's other tests run beside this one: the loop
/// runs alone, in a child process of this test binary.
#[test]
fn opening_training_and_closing_graphs_in_a_loop_does_not_grow_memory() {
    crate::common::run_alone("ui_stress::stress_loop_alone_in_its_process");
}

#[test]
#[ignore = "run alone in its own process by opening_training_and_closing_graphs_in_a_loop_does_not_grow_memory"]
fn stress_loop_alone_in_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.csv");
    write_edges(&small, 3_000);
    let big = dir.path().join("big.csv");
    write_edges(&big, 200_000);
    let mut h = Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(|cc| {
        ExplorerApp::new(cc, AppOptions { ephemeral: true, view: Some(View::Training), ..Default::default() })
    });
    h.step();
    let config = crate::training::cpu_config(1);
    let mut rss = Vec::new();
    let mut closed: Vec<Weak<Graph>> = Vec::new();
    for round in 0..ROUNDS {
        let wait = |h: &mut Harness<'static, ExplorerApp>, what: &str, done: &dyn Fn(&ExplorerApp) -> bool| {
            crate::common::wait_for_app(h, &format!("{what} (round {round})"), 120, done)
        };
        // Open the file.
        let generation = h.state().state.graph_generation;
        h.state_mut().state.commands.push(Command::Open(small.display().to_string()));
        wait(&mut h, "the file", &|a| a.state.graph_generation == generation + 1);
        let g = h.state().state.graph.clone();
        assert!(g.source.ends_with("small.csv") && g.n_test_edges() > 0);

        // Train from it, one short CPU epoch; the run uses the graph's split.
        h.state_mut().state.commands.push(Command::StartTraining { config: Box::new(config.clone()), out: None });
        h.step();
        wait(&mut h, "the training", &|a| !a.state.run.running && a.state.model.is_some());
        let split = h.state().state.model.as_ref().unwrap().config.split;
        assert_eq!(split, h.state().state.graph_split, "training records the graph's split");

        // A large load, cancelled while it parses: the graph and the model stay.
        let (observer, reached, release) = crate::ui_data::parse_gate();
        h.state_mut().jobs.load_observer = Some(observer);
        h.state_mut().state.commands.push(Command::Open(big.display().to_string()));
        wait(&mut h, "the held load", &|_| reached.try_recv().is_ok());
        h.state_mut().state.commands.push(Command::CancelLoad);
        h.step();
        drop(release);
        wait(&mut h, "the cancelled load", &|a| a.state.loading.is_none());
        h.state_mut().jobs.load_observer = None;
        assert!(Arc::ptr_eq(&h.state().state.graph, &g) && h.state().state.model.is_some(), "kept after a cancel");
        assert!(h.state().state.errors.iter().any(|e| e.contains("cancelled")), "{:?}", h.state().state.errors);
        h.state_mut().state.errors.clear();

        // Close it by opening the embedded graph.
        closed.push(Arc::downgrade(&g));
        drop(g);
        h.state_mut().state.commands.push(Command::Open("default".into()));
        wait(&mut h, "the default graph", &|a| a.state.graph_generation == generation + 2);
        assert!(h.state().state.model.is_none());
        for _ in 0..5 {
            h.step();
        }
        rss.push(rss_pages());
    }
    // Every closed graph was freed (nothing — a job, a panel, the cache — kept it alive).
    let alive = closed.iter().filter(|w| w.upgrade().is_some()).count();
    assert_eq!(alive, 0, "{alive} of {ROUNDS} closed graphs are still referenced");
    // Memory levels off. Single readings swing by a training run's transient buffers (threads and
    // pools still being freed), so compare floors: the least RSS over the first rounds after
    // warm-up against the least over the last rounds. A leak raises the floor every round.
    let third = ROUNDS / 3;
    let early = *rss[1..1 + third].iter().min().unwrap() as f64;
    let late = *rss[ROUNDS - third..].iter().min().unwrap() as f64;
    eprintln!("resident pages by round: {rss:?}");
    assert!(
        late <= early * 1.10,
        "resident memory's floor grew from {early} to {late} pages over {ROUNDS} rounds: {rss:?}"
    );
}
