//! The Parquet tables (`eval::tables`, `pinsage tables`): written for a small graph with train,
//! validation and test edges, read back with parquet's arrow reader and compared with the
//! in-memory structures exactly; failures name the path and leave nothing under the final name.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int8Type, UInt32Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use pinsage_explorer::eval::tables::{self, EDGES_FILE, EMBEDDINGS_FILE, NEIGHBOURHOODS_FILE, TablesError};
use pinsage_explorer::graph::Graph;
use pinsage_explorer::infer::{Embeddings, embed_all};
use pinsage_explorer::model::PinSageConfig;
use pinsage_explorer::sampler::{NeighbourhoodKind, NodeNeighbourhoods, node_neighbourhoods};
use pinsage_explorer::walk::WalkConfig;

/// 40 pins, 8 boards: board b holds pins b·5 .. b·5 + 5 (train), one more validation pin and one
/// test pin each, drawn from the next board's range.
fn split_graph() -> (Graph, BTreeSet<(u32, u32, &'static str)>) {
    let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for b in 0..8u32 {
        train.extend((0..5).map(|i| (b, b * 5 + i)));
        validation.push((b, (b * 5 + 5) % 40));
        test.push((b, (b * 5 + 6) % 40));
    }
    let mut g = Graph::from_edges(40, 8, &train, &test);
    g.set_validation(&validation);
    let mut want = BTreeSet::new();
    for (pairs, split) in [(&train, "train"), (&validation, "validation"), (&test, "test")] {
        want.extend(pairs.iter().map(|&(b, p)| (p, b, split)));
    }
    (g, want)
}

fn model_outputs(g: &Graph) -> (NodeNeighbourhoods, Embeddings) {
    let nb = node_neighbourhoods(g, NeighbourhoodKind::Walks, &WalkConfig { top_k: 6, ..WalkConfig::default() });
    let dev = burn::prelude::Device::flex();
    let model = PinSageConfig::new(g.n_pins() as usize, g.n_boards() as usize, 0)
        .with_input_dim(8)
        .with_hidden_dim(8)
        .init(&dev);
    let emb = embed_all(&model, &nb, g.features.as_ref(), &dev, 16, |_, _| {}).unwrap();
    (nb, emb)
}

/// The graph, its neighbourhoods and embeddings, and an empty folder.
fn fixture() -> (Graph, NodeNeighbourhoods, Embeddings, tempfile::TempDir) {
    let (g, _) = split_graph();
    let (nb, emb) = model_outputs(&g);
    (g, nb, emb, tempfile::tempdir().unwrap())
}

/// The names in a folder.
fn names(dir: &Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect()
}

fn read(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    reader.collect::<Result<Vec<_>, _>>().unwrap()
}

fn u32s(batch: &RecordBatch, name: &str) -> Vec<u32> {
    batch.column_by_name(name).unwrap().as_primitive::<UInt32Type>().values().to_vec()
}

/// A dictionary column's values as strings.
fn labels(batch: &RecordBatch, name: &str) -> Vec<String> {
    let dict = batch.column_by_name(name).unwrap().as_dictionary::<Int8Type>();
    let values = dict.values().as_string::<i32>();
    dict.keys().values().iter().map(|&k| values.value(k as usize).to_string()).collect()
}

#[test]
fn tables_read_back_equal_the_graph_neighbourhoods_and_embeddings() {
    let (g, want_edges) = split_graph();
    let (nb, emb) = model_outputs(&g);
    let dir = tempfile::tempdir().unwrap();
    // One batch per table, then batches (and row groups) of 5 rows.
    for chunk_rows in [tables::CHUNK_ROWS, 5] {
        let out = dir.path().join(format!("nested/{chunk_rows}"));
        let written = tables::write_all_chunked(&out, &g, &nb, &emb, chunk_rows).unwrap();
        let rows: Vec<usize> = written.iter().map(|w| w.rows).collect();
        let got = [check_edges(&out, &want_edges), check_neighbourhoods(&out, &nb), check_embeddings(&out, &emb)];
        assert_eq!(rows, got);
        let file = File::open(out.join(EMBEDDINGS_FILE)).unwrap();
        let groups = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().metadata().num_row_groups();
        assert_eq!(groups, emb.n_nodes().div_ceil(chunk_rows));
        assert_eq!(names(&out).len(), 3, "only the three tables, no temp files: {:?}", names(&out));
    }
}

/// Every edge once, with its split; returns the rows read.
fn check_edges(out: &Path, want: &BTreeSet<(u32, u32, &'static str)>) -> usize {
    let mut got_edges = Vec::new();
    for batch in read(&out.join(EDGES_FILE)) {
        let (pins, boards, splits) = (u32s(&batch, "pin"), u32s(&batch, "board"), labels(&batch, "split"));
        got_edges.extend((0..batch.num_rows()).map(|i| (pins[i], boards[i], splits[i].clone())));
    }
    assert_eq!(got_edges.len(), 8 * 7);
    let got_set: BTreeSet<(u32, u32, &str)> = got_edges.iter().map(|(p, b, s)| (*p, *b, s.as_str())).collect();
    assert_eq!(got_set.len(), got_edges.len(), "an edge appears twice");
    assert_eq!(&got_set, want);
    got_edges.len()
}

/// The non-padding entries, exactly, and their weight sums per node; returns the rows read.
fn check_neighbourhoods(out: &Path, nb: &NodeNeighbourhoods) -> usize {
    let mut got_nb: BTreeMap<u32, Vec<(u32, f32)>> = BTreeMap::new();
    for batch in read(&out.join(NEIGHBOURHOODS_FILE)) {
        let (nodes, nbrs) = (u32s(&batch, "node"), u32s(&batch, "nbr"));
        let weights = batch.column_by_name("weight").unwrap().as_primitive::<Float32Type>();
        for i in 0..batch.num_rows() {
            got_nb.entry(nodes[i]).or_default().push((nbrs[i], weights.value(i)));
        }
    }
    let mut total = 0;
    for node in 0..nb.n_nodes() as u32 {
        let want: Vec<(u32, f32)> = nb
            .ids_of(node)
            .iter()
            .zip(nb.weights_of(node))
            .filter(|(_, w)| **w != 0.0)
            .map(|(&id, &w)| (id, w))
            .collect();
        total += want.len();
        let got = got_nb.remove(&node).unwrap_or_default();
        let sum = |v: &[(u32, f32)]| v.iter().map(|x| x.1).sum::<f32>();
        assert_eq!(sum(&got), sum(&want), "weight sum of node {node}");
        assert_eq!(got, want, "neighbourhood of node {node}");
    }
    assert!(got_nb.is_empty() && total > 0);
    total
}

/// One row per node, pins then boards, vectors bit for bit; returns the rows read.
fn check_embeddings(out: &Path, emb: &Embeddings) -> usize {
    let mut node = 0u32;
    for batch in read(&out.join(EMBEDDINGS_FILE)) {
        let (nodes, ids, kinds) = (u32s(&batch, "node"), u32s(&batch, "id"), labels(&batch, "kind"));
        let vectors = batch.column_by_name("vector").unwrap().as_fixed_size_list();
        assert_eq!(vectors.value_length() as usize, emb.dim);
        for i in 0..batch.num_rows() {
            let is_pin = (node as usize) < emb.n_pins;
            assert_eq!((nodes[i], kinds[i].as_str()), (node, if is_pin { "pin" } else { "board" }));
            assert_eq!(ids[i], if is_pin { node } else { node - emb.n_pins as u32 });
            let v = vectors.value(i);
            assert_eq!(v.as_primitive::<Float32Type>().values().as_ref(), emb.row(node));
            node += 1;
        }
    }
    assert_eq!((node as usize, emb.n_nodes()), (48, 48));
    node as usize
}

#[test]
fn an_unwritable_folder_is_named_and_leaves_no_file() {
    let (g, nb, emb, dir) = fixture();
    // A folder under a regular file cannot be created, even by root.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("tables");
    let err = tables::write_all(&out, &g, &nb, &emb).unwrap_err();
    assert!(matches!(err, TablesError::Write(_)), "{err:?}");
    assert!(err.to_string().contains(&out.display().to_string()), "the message names the path: {err}");
    assert!(!out.join(EDGES_FILE).exists());

    // The final name taken by a folder: the rename fails, the temp file is removed.
    let out = dir.path().join("taken");
    std::fs::create_dir_all(out.join(EDGES_FILE)).unwrap();
    let err = tables::write_all(&out, &g, &nb, &emb).unwrap_err();
    assert!(err.to_string().contains(EDGES_FILE), "{err}");
    assert!(out.join(EDGES_FILE).is_dir() && !out.join(NEIGHBOURHOODS_FILE).exists());
    assert_eq!(names(&out).len(), 1, "no temp file left: {:?}", names(&out));
}

#[test]
fn mismatched_inputs_are_refused_before_writing() {
    let (_, nb, emb, dir) = fixture();
    let other = Graph::from_edges(10, 2, &[(0, 1)], &[]);
    let err = tables::write_all(dir.path(), &other, &nb, &emb).unwrap_err();
    assert!(matches!(err, TablesError::Mismatch { .. }) && err.to_string().contains("12"), "{err}");
    assert!(!dir.path().join(EDGES_FILE).exists());
}

fn pinsage(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pinsage")).args(args).output().expect("runs pinsage")
}

fn rows(path: &Path) -> usize {
    read(path).iter().map(RecordBatch::num_rows).sum()
}

/// `pinsage tables` on a trained run: three files in `RUN/tables`, every edge of every split once,
/// one embedding per node; a missing run is named.
#[test]
fn tables_command_writes_a_runs_tables() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/example_edges.csv");
    let data = data.to_str().unwrap();
    let stats = pinsage(&["stats", "--data", data, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    let count = |key: &str| v[key].as_u64().unwrap() as usize;
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let out = pinsage(&["train", "--data", data, "--device", "cpu", "--epochs", "1", "--out", run_s, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = pinsage(&["tables", "--run", run_s, "--device", "cpu"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tables = run.join("tables");
    assert_eq!(rows(&tables.join(EDGES_FILE)), count("edges") + count("test_edges") + count("validation_edges"));
    assert_eq!(rows(&tables.join(EMBEDDINGS_FILE)), count("pins") + count("boards"));
    assert!(rows(&tables.join(NEIGHBOURHOODS_FILE)) > 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains(EMBEDDINGS_FILE));

    let missing = dir.path().join("no-such-run");
    let out = pinsage(&["tables", "--run", missing.to_str().unwrap(), "--device", "cpu"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(missing.to_str().unwrap()), "the message names the run");
}
