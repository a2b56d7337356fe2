//! The engine's tables on disk: writing its inputs (the weights, `features.parquet`,
//! `neighbourhoods.parquet`), checking a Parquet input before a job reads it (a corrupt file or a
//! missing column is named, not left to surface as a query failure), reading an embeddings table
//! back into [`Embeddings`] (each node exactly once) or a neighbourhoods table into rows, and the
//! file stamps that key the per-process caches.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{EngineError, FEATURES_FILE, NEIGHBOURHOODS_FILE, WEIGHTS_FILE, weights::ModelWeights};
use crate::eval::tables::{self, CHUNK_ROWS, write_table};
use crate::graph::Graph;
use crate::infer::Embeddings;
use crate::model::PinSage;
use crate::sampler::NodeNeighbourhoods;

/// What a column must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    U32,
    F32,
    Vector,
}

impl ColumnKind {
    fn fits(self, t: &DataType) -> bool {
        match self {
            ColumnKind::U32 => t == &DataType::UInt32,
            ColumnKind::F32 => t == &DataType::Float32,
            ColumnKind::Vector => {
                matches!(t, DataType::FixedSizeList(item, _) if item.data_type() == &DataType::Float32)
            }
        }
    }
    fn name(self) -> &'static str {
        match self {
            ColumnKind::U32 => "UInt32",
            ColumnKind::F32 => "Float32",
            ColumnKind::Vector => "FixedSizeList<Float32>",
        }
    }
}

fn table_err(path: &Path, problem: impl Into<String>) -> EngineError {
    EngineError::Table { path: path.to_path_buf(), problem: problem.into() }
}

/// A file's identity for the per-process caches (weights, graphs): its size, modification time
/// and, on Unix, its inode (the engine replaces a file by renaming a new one over it, so a rewrite
/// has a new inode even within the clock's granularity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileStamp {
    /// The stamp of the file at `path`; a missing or unreadable file is named.
    pub fn of(path: &Path) -> Result<FileStamp, EngineError> {
        let meta = std::fs::metadata(path).map_err(|e| table_err(path, format!("cannot open: {e}")))?;
        if !meta.is_file() {
            return Err(table_err(path, "not a file"));
        }
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(FileStamp { len: meta.len(), modified: meta.modified().ok(), inode })
    }
}

/// Opens `path` as Parquet and checks that it has `columns` of the right types; returns its schema.
pub fn check_table(path: &Path, columns: &[(&str, ColumnKind)]) -> Result<SchemaRef, EngineError> {
    let file = File::open(path).map_err(|e| table_err(path, format!("cannot open: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| table_err(path, format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    for &(name, kind) in columns {
        let Ok(field) = schema.field_with_name(name) else {
            let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(table_err(path, format!("no column `{name}` (it has: {})", have.join(", "))));
        };
        if !kind.fits(field.data_type()) {
            return Err(table_err(path, format!("column `{name}` is {}, expected {}", field.data_type(), kind.name())));
        }
    }
    Ok(schema)
}

/// The number of row groups of the Parquet file at `path`, and the rows of the largest.
pub fn row_groups(path: &Path) -> Result<(usize, usize), EngineError> {
    let file = File::open(path).map_err(|e| table_err(path, format!("cannot open: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| table_err(path, format!("not a readable Parquet file: {e}")))?;
    let groups = builder.metadata().row_groups();
    let rows = groups.iter().map(|g| usize::try_from(g.num_rows()).unwrap_or(0)).max().unwrap_or(0);
    Ok((groups.len(), rows))
}

/// Writes the job's inputs into `dir`: the weights, every node's features (or only its id when
/// the graph has none; boards read zeros, as in `embed_all`) and the neighbourhoods.
pub fn write_inputs(dir: &Path, g: &Graph, nb: &NodeNeighbourhoods, model: &PinSage) -> Result<(), EngineError> {
    write_model_inputs(dir, g, nb.n_nodes(), model)?;
    tables::write_neighbourhoods(&dir.join(NEIGHBOURHOODS_FILE), nb, CHUNK_ROWS)?;
    Ok(())
}

/// The inputs besides the neighbourhoods: `dir` (created when missing), the weights and the
/// features of `n_nodes` nodes.
pub fn write_model_inputs(dir: &Path, g: &Graph, n_nodes: usize, model: &PinSage) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::Io(format!("creating {}: {e}", dir.display())))?;
    ModelWeights::from_model(model)?.save(&dir.join(WEIGHTS_FILE))?;
    write_features(&dir.join(FEATURES_FILE), g, n_nodes, CHUNK_ROWS)?;
    Ok(())
}

/// `features.parquet`: `node` u32 for every node and, when the graph has features, `vector`.
pub fn write_features(path: &Path, g: &Graph, n_nodes: usize, chunk_rows: usize) -> Result<usize, EngineError> {
    let chunk_rows = chunk_rows.max(1);
    let n_pins = g.n_pins() as usize;
    let features = g.features.as_ref().filter(|f| f.dim > 0);
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let mut fields = vec![Field::new("node", DataType::UInt32, false)];
    if let Some(f) = features {
        fields.push(Field::new("vector", DataType::FixedSizeList(item.clone(), f.dim as i32), false));
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    write_table(path, &schema, chunk_rows, |out| {
        for start in (0..n_nodes).step_by(chunk_rows) {
            let end = (start + chunk_rows).min(n_nodes);
            let mut cols: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from_iter_values(start as u32..end as u32))];
            if let Some(f) = features {
                let mut values = vec![0f32; (end - start) * f.dim];
                for node in start..end.min(n_pins) {
                    let r = node - start;
                    values[r * f.dim..(r + 1) * f.dim].copy_from_slice(f.row(node as u32));
                }
                let list = FixedSizeListArray::try_new(
                    item.clone(),
                    f.dim as i32,
                    Arc::new(Float32Array::from(values)),
                    None,
                )?;
                cols.push(Arc::new(list));
            }
            out(cols)?;
        }
        Ok(())
    })?;
    Ok(n_nodes)
}

/// The rows of a neighbourhoods table (`node`, `nbr`, `weight`) of `n_nodes` nodes, per node in
/// the file's order.
pub fn read_neighbourhood_rows(path: &Path, n_nodes: usize) -> Result<Vec<Vec<(u32, f32)>>, EngineError> {
    check_table(path, &[("node", ColumnKind::U32), ("nbr", ColumnKind::U32), ("weight", ColumnKind::F32)])?;
    let file = File::open(path).map_err(|e| table_err(path, format!("cannot open: {e}")))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| table_err(path, format!("not a readable Parquet file: {e}")))?;
    let mut rows = vec![Vec::new(); n_nodes];
    for batch in reader {
        let batch = batch.map_err(|e| table_err(path, format!("reading: {e}")))?;
        let column = |name: &str| batch.column_by_name(name).ok_or_else(|| table_err(path, format!("no `{name}`")));
        let node = column("node")?.as_any().downcast_ref::<UInt32Array>().cloned();
        let nbr = column("nbr")?.as_any().downcast_ref::<UInt32Array>().cloned();
        let weight = column("weight")?.as_any().downcast_ref::<Float32Array>().cloned();
        let (Some(node), Some(nbr), Some(weight)) = (node, nbr, weight) else {
            return Err(table_err(path, "`node`, `nbr` or `weight` is not of its expected type"));
        };
        for i in 0..node.len() {
            let v = node.value(i) as usize;
            let Some(row) = rows.get_mut(v) else {
                return Err(table_err(path, format!("node {v}: not one of the graph's {n_nodes} nodes")));
            };
            row.push((nbr.value(i), weight.value(i)));
        }
    }
    Ok(rows)
}

/// Reads an embeddings table (`node`, `vector`) of `n_nodes` nodes (the first `n_pins` pins) into
/// row order; every node must appear exactly once.
pub fn read_embeddings(path: &Path, n_nodes: usize, n_pins: usize) -> Result<Embeddings, EngineError> {
    let schema = check_table(path, &[("node", ColumnKind::U32), ("vector", ColumnKind::Vector)])?;
    let dim = match schema.field_with_name("vector").map(|f| f.data_type().clone()) {
        Ok(DataType::FixedSizeList(_, d)) if d > 0 => d as usize,
        _ => return Err(table_err(path, "column `vector` has no width")),
    };
    let file = File::open(path).map_err(|e| table_err(path, format!("cannot open: {e}")))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| table_err(path, format!("not a readable Parquet file: {e}")))?;
    let mut data = vec![0f32; n_nodes * dim];
    let mut seen = vec![false; n_nodes];
    for batch in reader {
        let batch = batch.map_err(|e| table_err(path, format!("reading: {e}")))?;
        let column = |name: &str| batch.column_by_name(name).ok_or_else(|| table_err(path, format!("no `{name}`")));
        let nodes = column("node")?.as_any().downcast_ref::<UInt32Array>().cloned();
        let vectors = column("vector")?.as_any().downcast_ref::<FixedSizeListArray>().cloned();
        let (Some(nodes), Some(vectors)) = (nodes, vectors) else {
            return Err(table_err(path, "`node` or `vector` is not of its expected type"));
        };
        let Some(values) = vectors.values().as_any().downcast_ref::<Float32Array>() else {
            return Err(table_err(path, "`vector` does not hold Float32 values"));
        };
        for i in 0..nodes.len() {
            let node = nodes.value(i) as usize;
            if node >= n_nodes || vectors.is_null(i) {
                return Err(table_err(path, format!("row for node {node}: not one of the graph's {n_nodes} nodes")));
            }
            if std::mem::replace(&mut seen[node], true) {
                return Err(table_err(path, format!("node {node} appears twice")));
            }
            let s = (vectors.offset() + i) * dim;
            data[node * dim..(node + 1) * dim].copy_from_slice(&values.values()[s..s + dim]);
        }
    }
    if let Some(missing) = seen.iter().position(|&s| !s) {
        let count = seen.iter().filter(|&&s| !s).count();
        return Err(table_err(path, format!("{count} nodes have no row (the first: node {missing})")));
    }
    Ok(Embeddings { dim, n_pins, data })
}
