//! The graph read back from an `edges.parquet` table, cached once per process: what a Ballista
//! executor walks on when it runs the neighbourhood job (`walks`), since it has no graph of its own.
//!
//! The table is `eval::tables`' `edges` (`pin` u32, `board` u32, `split` train|validation|test;
//! any further columns are ignored): only the training rows are walked (all rows when there is no
//! `split` column), and each side's ids are its own (pins `0..n_pins`, boards `0..n_boards`).
//! Rows may come in any order and repeat; each board's pins are sorted and deduplicated as
//! `Graph::from_edges` does, so the graph equals the one the table was written from, walk for walk.
//!
//! The cache is keyed by the file's path and checked against its size and modification time on
//! every use, so a table rewritten in place (a new run into the same folder) is read again; it keeps
//! at most [`CACHED_GRAPHS`] paths, and a path's graph is read by one thread while the others wait.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, UInt32Type};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::EngineError;
use super::io::{ColumnKind, FileStamp, check_table};
use crate::graph::{Csr, Graph};

pub use crate::eval::tables::EDGES_FILE;

/// Graphs (distinct paths) one process keeps at once.
pub const CACHED_GRAPHS: usize = 2;

fn table_err(path: &Path, problem: impl Into<String>) -> EngineError {
    EngineError::Table { path: path.to_path_buf(), problem: problem.into() }
}

/// Whether each row of a `split` column is a training edge.
fn training_rows(path: &Path, split: &ArrayRef) -> Result<Vec<bool>, EngineError> {
    let train_strings = |values: &ArrayRef| -> Result<Vec<bool>, EngineError> {
        let values = cast(values, &DataType::Utf8).map_err(|e| table_err(path, format!("column `split`: {e}")))?;
        let Some(values) = values.as_any().downcast_ref::<StringArray>() else {
            return Err(table_err(path, "column `split` is not text"));
        };
        Ok((0..values.len()).map(|i| values.is_valid(i) && values.value(i) == "train").collect())
    };
    if let Some(dict) = split.as_any_dictionary_opt() {
        let is_train = train_strings(dict.values())?;
        let keys = dict.normalized_keys();
        return Ok((0..split.len())
            .map(|i| split.is_valid(i) && keys.get(i).and_then(|&k| is_train.get(k)).copied().unwrap_or(false))
            .collect());
    }
    train_strings(split)
}

/// The column `name` of a batch as u32 values without nulls.
fn u32_column<'a>(
    path: &Path,
    batch: &'a datafusion::arrow::record_batch::RecordBatch,
    name: &str,
) -> Result<&'a [u32], EngineError> {
    let col = batch.column_by_name(name).ok_or_else(|| table_err(path, format!("no column `{name}`")))?;
    let Some(values) = col.as_primitive_opt::<UInt32Type>() else {
        return Err(table_err(path, format!("column `{name}` is {}, expected UInt32", col.data_type())));
    };
    if values.null_count() > 0 {
        return Err(table_err(path, format!("column `{name}` has null values")));
    }
    Ok(values.values())
}

/// Reads the training edges of `path` into a graph of `n_pins` pins and `n_boards` boards; a file
/// that is not such a table, or an edge outside those ranges, is named with the row.
pub fn read_graph(path: &Path, n_pins: u32, n_boards: u32) -> Result<Graph, EngineError> {
    let schema = check_table(path, &[("pin", ColumnKind::U32), ("board", ColumnKind::U32)])?;
    let split = schema.index_of("split").ok();
    if let Some(i) = split {
        let t = schema.field(i).data_type();
        let text = |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
        if !(text(t) || matches!(t, DataType::Dictionary(_, v) if text(v))) {
            return Err(table_err(path, format!("column `split` is {t}, expected text (train|validation|test)")));
        }
    }
    let file = File::open(path).map_err(|e| table_err(path, format!("cannot open: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| table_err(path, format!("not a readable Parquet file: {e}")))?;
    let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    // The (board, pin) pairs, then the CSR both ways (≈ 8 + 8 + 8 bytes per edge at the peak).
    crate::memory::check(crate::memory::bytes(rows, 24), &format!("reading the graph in {}", path.display()))
        .map_err(|e| table_err(path, e.to_string()))?;
    let index = |name: &str| schema.index_of(name).map_err(|_| table_err(path, format!("no column `{name}`")));
    let mut columns = vec![index("pin")?, index("board")?];
    columns.extend(split);
    let mask = ProjectionMask::roots(builder.parquet_schema(), columns);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| table_err(path, format!("not a readable Parquet file: {e}")))?;
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| table_err(path, format!("reading row {row} on: {e}")))?;
        let pins = u32_column(path, &batch, "pin")?;
        let boards = u32_column(path, &batch, "board")?;
        let train = match batch.column_by_name("split") {
            Some(s) => Some(training_rows(path, s)?),
            None => None,
        };
        for (i, (&p, &b)) in pins.iter().zip(boards).enumerate() {
            if p >= n_pins || b >= n_boards {
                let problem = format!(
                    "row {}: edge (pin {p}, board {b}) is outside the graph of {n_pins} pins and {n_boards} boards",
                    row + i
                );
                return Err(table_err(path, problem));
            }
            if train.as_ref().is_none_or(|t| t[i]) {
                pairs.push((b, p));
            }
        }
        row += batch.num_rows();
    }
    Ok(Graph::from_board_pins(n_pins, Csr::from_pairs(n_boards as usize, &pairs)))
}

struct Entry {
    stamp: FileStamp,
    shape: (u32, u32),
    graph: Arc<Graph>,
}

type Slot = Arc<Mutex<Option<Entry>>>;

/// The graph of `path` (see [`read_graph`]), read once per process and file version; `report`
/// hears of each read (path, counts, seconds).
pub fn cached_graph(
    path: &Path,
    n_pins: u32,
    n_boards: u32,
    report: Option<fn(&str)>,
) -> Result<Arc<Graph>, EngineError> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Slot>>> = OnceLock::new();
    let poisoned = || EngineError::Io("the graph cache is poisoned (a reader panicked)".into());
    let stamp = FileStamp::of(path)?;
    let slot: Slot = {
        let mut cache = CACHE.get_or_init(Default::default).lock().map_err(|_| poisoned())?;
        if !cache.contains_key(path) && cache.len() >= CACHED_GRAPHS {
            cache.clear();
        }
        Arc::clone(cache.entry(path.to_path_buf()).or_default())
    };
    let mut slot = slot.lock().map_err(|_| poisoned())?;
    if let Some(e) = slot.as_ref().filter(|e| e.stamp == stamp && e.shape == (n_pins, n_boards)) {
        return Ok(Arc::clone(&e.graph));
    }
    *slot = None; // the old version goes before the new one is read
    let t = Instant::now();
    let graph = Arc::new(read_graph(path, n_pins, n_boards)?);
    if let Some(report) = report {
        report(&format!(
            "read the graph in {}: {n_pins} pins, {n_boards} boards, {} training edges in {:.2} s",
            path.display(),
            graph.n_edges(),
            t.elapsed().as_secs_f64()
        ));
    }
    *slot = Some(Entry { stamp, shape: (n_pins, n_boards), graph: Arc::clone(&graph) });
    Ok(graph)
}
