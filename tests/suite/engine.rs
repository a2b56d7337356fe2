//! The inference as DataFusion / Ballista jobs (`eval::engine`, `pinsage infer`, `embed --engine`,
//! `pinsage ballista`): node for node equal to the in-memory `embed_all` for every pooling, with
//! and without features and the skip path; the neighbourhood job equal to the in-memory
//! neighbourhoods in this process and on two Ballista executors that read the graph themselves;
//! inputs that are corrupt, miss a column or name an unreachable scheduler fail with the file,
//! column or address named, and leave no output.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use pinsage_explorer::eval::engine::{
    self, EMBEDDINGS_FILE, Engine, EngineError, FEATURES_FILE, L1_FILE, NEIGHBOURHOODS_FILE, edges::EDGES_FILE,
    io::read_embeddings,
};
use pinsage_explorer::graph::{Features, Graph};
use pinsage_explorer::infer::{Embeddings, embed_all};
use pinsage_explorer::model::{PinSage, PinSageConfig, Pooling};
use pinsage_explorer::sampler::{NeighbourhoodKind, NodeNeighbourhoods, node_neighbourhoods};
use pinsage_explorer::walk::WalkConfig;

/// 60 pins, 12 boards of 5 or 6 pins each (overlapping), two isolated pins (no neighbours), and
/// 4-wide pseudo-random features when asked.
fn graph(features: bool) -> Graph {
    let mut edges = Vec::new();
    for b in 0..12u32 {
        edges.extend((0..5).map(|i| (b, (b * 5 + i * 3) % 58)));
        if b % 2 == 0 {
            edges.push((b, (b * 7 + 1) % 58));
        }
    }
    let mut g = Graph::from_edges(60, 12, &edges, &[]);
    if features {
        let data = (0..60 * 4).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
        g.features = Some(Features { dim: 4, data });
    }
    g
}

fn neighbourhoods(g: &Graph) -> NodeNeighbourhoods {
    node_neighbourhoods(g, NeighbourhoodKind::Walks, &WalkConfig { top_k: 6, ..WalkConfig::default() })
}

fn model(g: &Graph, pooling: Pooling, skip: bool, input_dim: usize) -> PinSage {
    let feature_dim = g.features.as_ref().map_or(0, |f| f.dim);
    PinSageConfig::new(g.n_pins() as usize, g.n_boards() as usize, feature_dim)
        .with_input_dim(input_dim)
        .with_hidden_dim(8)
        .with_pooling(pooling)
        .with_skip(skip)
        .init(&burn::prelude::Device::flex())
}

fn max_abs_diff(a: &Embeddings, b: &Embeddings) -> f32 {
    assert_eq!((a.dim, a.n_pins, a.data.len()), (b.dim, b.n_pins, b.data.len()));
    a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The engine's embeddings over `g` and `model`, written into `dir`.
fn engine_embeddings(engine: &Engine, dir: &Path, g: &Graph, nb: &NodeNeighbourhoods, m: &PinSage) -> Embeddings {
    let reports = engine::infer(engine, dir, g, nb, m).unwrap();
    let n = g.n_pins() as usize + g.n_boards() as usize;
    assert!(reports.iter().skip(1).all(|r| r.rows == n), "every stage has a row per node: {reports:?}");
    read_embeddings(&dir.join(EMBEDDINGS_FILE), n, g.n_pins() as usize).unwrap()
}

#[test]
fn datafusion_layers_equal_embed_all_for_every_pooling_skip_and_features() {
    let dev = burn::prelude::Device::flex();
    let cases = [
        (false, Pooling::Importance, false, 8),
        (true, Pooling::Importance, false, 8),
        (true, Pooling::Mean, true, 6), // skip through the learned map (6 → 8)
        (false, Pooling::Max, true, 8), // skip with the identity
    ];
    for (features, pooling, skip, input_dim) in cases {
        let g = graph(features);
        let nb = neighbourhoods(&g);
        let m = model(&g, pooling, skip, input_dim);
        let want = embed_all(&m, &nb, g.features.as_ref(), &dev, 16, |_, _| {}).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let got = engine_embeddings(&Engine::DataFusion, dir.path(), &g, &nb, &m);
        let diff = max_abs_diff(&got, &want);
        assert!(diff <= 1e-5, "{pooling:?} skip={skip} features={features}: max |Δ| = {diff}");
        // Not a constant output: the nodes differ by far more than the tolerance.
        let spread = (1..got.n_nodes() as u32)
            .map(|v| got.row(v).iter().zip(got.row(0)).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max))
            .fold(0.0, f32::max);
        assert!(spread > 1e-3, "{pooling:?}: the nodes' embeddings differ by at most {spread}");
        let isolated = 59;
        assert!(nb.weights_of(isolated).iter().all(|&w| w == 0.0), "pin 59 has no neighbours");
        let row_diff = got.row(isolated).iter().zip(want.row(isolated)).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(row_diff <= 1e-5, "a node without neighbours pools zeros: {row_diff}");
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert!(!names.iter().any(|n| n.ends_with(".partial")), "no temp files left: {names:?}");
        assert!(dir.path().join(L1_FILE).is_file());
    }
}

/// Inputs written for a small model, then a stage run over them after `spoil` changed one.
fn run_spoilt(spoil: impl FnOnce(&Path)) -> (tempfile::TempDir, EngineError) {
    let g = graph(true);
    let nb = neighbourhoods(&g);
    let m = model(&g, Pooling::Importance, false, 8);
    let dir = tempfile::tempdir().unwrap();
    engine::io::write_inputs(dir.path(), &g, &nb, &m).unwrap();
    // A finished earlier run in the same folder: its outputs must not outlive a failed one.
    engine::run_stages(&Engine::DataFusion, dir.path()).unwrap();
    assert!(dir.path().join(EMBEDDINGS_FILE).is_file());
    spoil(dir.path());
    let err = engine::run_stages(&Engine::DataFusion, dir.path()).unwrap_err();
    for file in [EMBEDDINGS_FILE, L1_FILE] {
        assert!(!dir.path().join(file).exists(), "no {file} after a failure");
    }
    (dir, err)
}

#[test]
fn a_missing_column_or_a_corrupt_file_is_named_and_nothing_is_written() {
    let (_d, err) = run_spoilt(|dir| {
        // The neighbourhoods without their `weight` column.
        let schema = Arc::new(Schema::new(vec![
            Field::new("node", DataType::UInt32, false),
            Field::new("nbr", DataType::UInt32, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(UInt32Array::from(vec![0u32, 1])), Arc::new(UInt32Array::from(vec![1u32, 0]))],
        )
        .unwrap();
        let file = std::fs::File::create(dir.join(NEIGHBOURHOODS_FILE)).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    });
    let msg = err.to_string();
    assert!(msg.contains(NEIGHBOURHOODS_FILE) && msg.contains("`weight`"), "{msg}");

    let (_d, err) = run_spoilt(|dir| std::fs::write(dir.join(FEATURES_FILE), b"PAR1 not really parquet").unwrap());
    let msg = err.to_string();
    assert!(msg.contains(FEATURES_FILE) && msg.contains("Parquet"), "{msg}");

    let (_d, err) = run_spoilt(|dir| {
        let p = dir.join(FEATURES_FILE);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap(); // cut short
    });
    assert!(err.to_string().contains(FEATURES_FILE), "{err}");

    let (dir, path) = crate::common::temp_file("embeddings.parquet", b"garbage");
    let err = read_embeddings(&path, 3, 2).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    drop(dir);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn an_unreachable_scheduler_or_a_bad_engine_is_named() {
    let addr = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let g = graph(false);
    let nb = neighbourhoods(&g);
    let m = model(&g, Pooling::Importance, false, 8);
    let engine: Engine = format!("ballista://{addr}").parse().unwrap();
    let msg = engine::infer(&engine, dir.path(), &g, &nb, &m).unwrap_err().to_string();
    assert!(msg.contains(&addr) && msg.contains("cannot reach"), "{msg}");
    assert!(!dir.path().join(EMBEDDINGS_FILE).exists());
    for bad in ["spark", "ballista://nohost", "ballista://:1", "ballista://h:99999"] {
        let msg = bad.parse::<Engine>().unwrap_err().to_string();
        assert!(msg.contains(bad), "{msg}");
    }
}

fn pinsage(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pinsage")).args(args).output().expect("runs pinsage")
}

/// Children killed (and reaped) when the test ends, passing or failing.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(args: &[String], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_pinsage"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starts pinsage")
}

fn wait_for_port(port: u16, what: &str, procs: &mut Processes) {
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        for c in &mut procs.0 {
            assert!(c.try_wait().unwrap().is_none(), "{what}: a Ballista process exited early");
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{what} did not listen on {port} within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The rows and the values of a 2-D .npy file.
fn read_npy(path: &Path) -> (usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let rows = npy.shape()[0] as usize;
    (rows, npy.into_vec::<f32>().unwrap())
}

/// A short run on the example edge list; returns (temp dir guard, run folder).
fn trained_run() -> (tempfile::TempDir, PathBuf) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/example_edges.csv");
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = pinsage(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--device",
        "cpu",
        "--epochs",
        "1",
        "--out",
        run.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, run)
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let diff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(diff <= 1e-5, "{what}: max |Δ| = {diff}");
}

#[test]
fn embed_with_datafusion_writes_the_files_embed_writes_and_ballista_matches_them() {
    let (dir, run) = trained_run();
    let run_s = run.to_str().unwrap();
    let mem = dir.path().join("mem/emb.npy");
    let out = pinsage(&["embed", "--run", run_s, "--device", "cpu", "--out", mem.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let df = dir.path().join("df/emb.npy");
    let args = ["embed", "--run", run_s, "--device", "cpu", "--engine", "datafusion", "--out", df.to_str().unwrap()];
    let out = pinsage(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (nodes, want) = read_npy(&mem);
    let (df_nodes, df_values) = read_npy(&df);
    assert_eq!(df_nodes, nodes);
    assert_close(&df_values, &want, "embed --engine datafusion");
    for f in ["ids.csv", "neighbours.csv"] {
        assert!(df.with_file_name(f).is_file(), "{f} beside the .npy");
    }
    assert_eq!(
        std::fs::read(mem.with_file_name("ids.csv")).unwrap(),
        std::fs::read(df.with_file_name("ids.csv")).unwrap()
    );

    // No scheduler there yet: the command fails naming the address, and writes no embeddings.
    let sched = free_port();
    let tables = dir.path().join("ballista");
    let engine = format!("ballista://127.0.0.1:{sched}");
    let out = pinsage(&["infer", "--run", run_s, "--engine", &engine, "--out", tables.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("127.0.0.1:{sched}")), "{err}");
    assert!(!tables.join(EMBEDDINGS_FILE).exists());

    // A scheduler and two executors; the neighbourhood job too runs on the executors, in
    // partitions of 4 start nodes.
    let logs = dir.path().join("logs");
    let procs = start_cluster(sched, dir.path(), &logs);
    let tables_s = tables.to_str().unwrap();
    let out = pinsage(&["infer", "--run", run_s, "--engine", &engine, "--out", tables_s, "--partition-nodes", "4"]);
    let log = |n: &str| std::fs::read_to_string(logs.join(n)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\nscheduler: {}\nexecutor: {}",
        String::from_utf8_lossy(&out.stderr),
        log("s"),
        log("e0")
    );
    let got = read_embeddings(&tables.join(EMBEDDINGS_FILE), nodes, 0).unwrap();
    assert_close(&got.data, &want, "infer --engine ballista (node for node)");

    executors_walked(&run, &engine, &tables, &log, nodes);
    drop(procs);
}

/// One scheduler on `sched` and two executors (2 slots each) as separate processes on free
/// localhost ports, their stderr in `logs/{s,e0,e1}`.
fn start_cluster(sched: u16, dir: &Path, logs: &Path) -> Processes {
    let mut procs = Processes(Vec::new());
    std::fs::create_dir_all(logs).unwrap();
    let s = |v: &str| v.to_string();
    procs.0.push(spawn(&[s("ballista"), s("scheduler"), s("--bind"), format!("127.0.0.1:{sched}")], &logs.join("s")));
    wait_for_port(sched, "the scheduler", &mut procs);
    for i in 0..2 {
        let (flight, grpc) = (free_port(), free_port());
        let args = [
            s("ballista"),
            s("executor"),
            s("--scheduler"),
            format!("127.0.0.1:{sched}"),
            s("--port"),
            flight.to_string(),
            s("--grpc-port"),
            grpc.to_string(),
            s("--slots"),
            s("2"),
            s("--work-dir"),
            dir.join(format!("work{i}")).display().to_string(),
        ];
        procs.0.push(spawn(&args, &logs.join(format!("e{i}"))));
        wait_for_port(flight, "an executor", &mut procs);
    }
    procs
}

/// After `pinsage infer --engine ENGINE --out TABLES` on the cluster: the executors walked (each
/// read the graph from edges.parquet at most once, its partitions sharing it, and at least one
/// did), the table equals the in-memory neighbourhoods of the run, and an edges table the executors
/// cannot use is named in the job's error, which comes from an executor.
fn executors_walked(run: &Path, engine: &str, tables: &Path, log: &dyn Fn(&str) -> String, nodes: usize) {
    let reads: Vec<usize> = ["e0", "e1"].iter().map(|e| log(e).matches("read the graph in").count()).collect();
    assert!(reads.iter().all(|&r| r <= 1) && reads.iter().sum::<usize>() >= 1, "graph reads per executor: {reads:?}");
    for e in ["e0", "e1"].iter().map(|e| log(e)).filter(|l| l.contains("read the graph in")) {
        assert!(e.contains(&tables.join(EDGES_FILE).display().to_string()), "names the edges table: {e}");
    }
    let cfg = pinsage_explorer::train::run_config(run).unwrap().config;
    let g = pinsage_explorer::train::run_graph(&cfg, pinsage_explorer::load::Format::Auto).unwrap();
    assert_eq!(g.n_pins() as usize + g.n_boards() as usize, nodes);
    assert!(nodes > 8, "several partitions of 4 nodes: {nodes} nodes");
    let nb = node_neighbourhoods(&g, cfg.neighbourhood, &cfg.walk);
    assert_table_equals(&tables.join(NEIGHBOURHOODS_FILE), &nb, "the executors' neighbourhoods");

    let ballista: Engine = engine.parse().unwrap();
    let spec = engine::walks::NeighbourhoodSpec::new(&g, cfg.neighbourhood, &cfg.walk);
    let bad = tables.with_file_name("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::copy(tables.join(engine::walks::NODES_FILE), bad.join(engine::walks::NODES_FILE)).unwrap();
    write_edges_table(&bad.join(EDGES_FILE), &[(0, 0), (g.n_pins(), 0)]);
    let msg = engine::walks::run_neighbourhood_job(&ballista, &bad, &spec, None).unwrap_err().to_string();
    let bad_edges = bad.join(EDGES_FILE).display().to_string();
    assert!(msg.contains(&bad_edges) && msg.contains("outside the graph"), "{msg}");
    std::fs::remove_file(bad.join(EDGES_FILE)).unwrap();
    let msg = engine::walks::run_neighbourhood_job(&ballista, &bad, &spec, None).unwrap_err().to_string();
    assert!(msg.contains(&bad_edges) && msg.contains("cannot open"), "{msg}");
    assert!(!bad.join(NEIGHBOURHOODS_FILE).exists());
}

/// The graph of the neighbourhood-job tests: `graph(false)` with test and validation edges too,
/// which `edges.parquet` carries and the job must not walk on.
fn graph_with_held_out_edges() -> Graph {
    let g = graph(false);
    let mut train = Vec::new();
    for b in 0..g.n_boards() {
        train.extend(g.pins_of(b).iter().map(|&p| (b, p)));
    }
    let test: Vec<(u32, u32)> = (0..12u32).map(|b| (b, (b * 11 + 3) % 60)).filter(|e| !train.contains(e)).collect();
    let validation: Vec<(u32, u32)> =
        (0..12u32).map(|b| (b, (b * 13 + 7) % 60)).filter(|e| !train.contains(e) && !test.contains(e)).collect();
    let mut g = Graph::from_edges(60, 12, &train, &test);
    g.set_validation(&validation);
    assert!(g.n_test_edges() > 0 && g.n_validation_edges() > 0);
    g
}

/// Every node's non-padding rows of the in-memory table.
fn memory_rows(nb: &NodeNeighbourhoods) -> Vec<Vec<(u32, f32)>> {
    (0..nb.n_nodes() as u32)
        .map(|v| {
            nb.ids_of(v).iter().copied().zip(nb.weights_of(v).iter().copied()).filter(|&(_, w)| w != 0.0).collect()
        })
        .collect()
}

/// Asserts that a neighbourhoods table holds exactly the in-memory table's rows, node by node and
/// in order, padding left out; returns its rows.
fn assert_table_equals(path: &Path, nb: &NodeNeighbourhoods, what: &str) -> usize {
    let got = engine::io::read_neighbourhood_rows(path, nb.n_nodes()).unwrap();
    let want = memory_rows(nb);
    for (v, (got, want)) in got.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "{what}: node {v}");
    }
    want.iter().map(Vec::len).sum()
}

/// The neighbourhood job (walks per partition of start nodes, on DataFusion) writes exactly the
/// in-memory table's rows, node by node and in order, padding left out: for walk and uniform
/// neighbourhoods, with the nodes in partitions of 7 (boards with more pins than K are sampled),
/// both with the graph in memory and with the graph read back from `edges.parquet` (what a Ballista
/// executor does; the held-out edges in that table are not walked on).
#[test]
fn the_neighbourhood_job_equals_the_in_memory_neighbourhoods() {
    use pinsage_explorer::eval::engine::walks::{
        NODES_FILE, NeighbourhoodSpec, neighbourhood_job, run_neighbourhood_job,
    };

    let g = Arc::new(graph_with_held_out_edges());
    let walk = WalkConfig { top_k: 4, restart: 0.3, seed: u64::MAX - 5, ..WalkConfig::default() };
    assert!((0..g.n_boards()).any(|b| g.pins_of(b).len() > 4), "some board is sampled");
    for kind in [NeighbourhoodKind::Walks, NeighbourhoodKind::Uniform] {
        let dir = tempfile::tempdir().unwrap();
        let report = neighbourhood_job(&Engine::DataFusion, dir.path(), &g, (kind, &walk), 7).unwrap();
        let nb = node_neighbourhoods(&g, kind, &walk);
        let rows = assert_table_equals(&report.path, &nb, &format!("{kind:?}, graph in memory"));
        assert_eq!(report.rows, rows);
        assert!(dir.path().join(NODES_FILE).is_file() && dir.path().join(EDGES_FILE).is_file());

        let spec = NeighbourhoodSpec::new(&g, kind, &walk);
        let report = run_neighbourhood_job(&Engine::DataFusion, dir.path(), &spec, None).unwrap();
        assert_eq!(assert_table_equals(&report.path, &nb, &format!("{kind:?}, graph read from the edges")), rows);
    }
    // Not a vacuous comparison: other walk settings give another table.
    let other = node_neighbourhoods(&g, NeighbourhoodKind::Walks, &WalkConfig { seed: 2, ..walk.clone() });
    let same = node_neighbourhoods(&g, NeighbourhoodKind::Walks, &walk);
    assert_ne!(memory_rows(&other), memory_rows(&same));
}

/// The neighbourhood job with the graph read from `edges.parquet` (as on an executor): a missing,
/// corrupt or out-of-range edges table fails naming the file, and leaves no neighbourhoods.
#[test]
fn a_missing_or_corrupt_edges_table_is_named_by_the_neighbourhood_job() {
    use pinsage_explorer::eval::engine::walks::{NeighbourhoodSpec, neighbourhood_job, run_neighbourhood_job};

    let g = Arc::new(graph(false));
    let walk = WalkConfig { top_k: 4, ..WalkConfig::default() };
    let spec = NeighbourhoodSpec::new(&g, NeighbourhoodKind::Walks, &walk);
    let run = |spoil: &dyn Fn(&Path)| {
        let dir = tempfile::tempdir().unwrap();
        neighbourhood_job(&Engine::DataFusion, dir.path(), &g, (spec.kind, &walk), 16).unwrap();
        spoil(&dir.path().join(EDGES_FILE));
        let msg = run_neighbourhood_job(&Engine::DataFusion, dir.path(), &spec, None).unwrap_err().to_string();
        assert!(!dir.path().join(NEIGHBOURHOODS_FILE).exists(), "no neighbourhoods after: {msg}");
        let edges = std::path::absolute(dir.path().join(EDGES_FILE)).unwrap();
        assert!(msg.contains(&edges.display().to_string()), "names the file: {msg}");
        msg
    };
    let msg = run(&|p| std::fs::remove_file(p).unwrap());
    assert!(msg.contains("cannot open"), "{msg}");
    let msg = run(&|p| std::fs::write(p, b"PAR1 not really parquet").unwrap());
    assert!(msg.contains("Parquet"), "{msg}");
    let msg = run(&|p| write_edges_table(p, &[(0, 1), (60, 2)]));
    assert!(msg.contains("row 1") && msg.contains("pin 60"), "{msg}");
}

/// An edges table of (pin, board) rows without a split column (all training edges).
fn write_edges_table(path: &Path, edges: &[(u32, u32)]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("pin", DataType::UInt32, false),
        Field::new("board", DataType::UInt32, false),
    ]));
    let pins: Vec<u32> = edges.iter().map(|e| e.0).collect();
    let boards: Vec<u32> = edges.iter().map(|e| e.1).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(UInt32Array::from(pins)), Arc::new(UInt32Array::from(boards))],
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}
