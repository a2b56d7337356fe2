//! The pipeline's tables as Parquet files that other tools read (pandas, polars, DuckDB,
//! DataFusion, Spark): the graph's edges with their split, every node's neighbourhood, every
//! node's embedding. The first step towards running the MapReduce inference on DataFusion
//! (issue 13). Each file is written to a temp name beside it and renamed, in row groups of at most
//! [`CHUNK_ROWS`] rows built one at a time, so memory stays a chunk's, not a table's.
//!
//! Node ids are the shared index space of the rest of the crate: pins `0..n_pins`, then boards
//! `n_pins..n_pins + n_boards`; `edges.parquet` uses each side's own ids (`pin`, `board`).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int8Type;
use arrow_array::{
    ArrayRef, DictionaryArray, FixedSizeListArray, Float32Array, Int8Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::export::{ExportError, atomically};
use crate::graph::{Csr, Graph};
use crate::infer::Embeddings;
use crate::sampler::NodeNeighbourhoods;

/// File names inside the output folder.
pub const EDGES_FILE: &str = "edges.parquet";
pub const NEIGHBOURHOODS_FILE: &str = "neighbourhoods.parquet";
pub const EMBEDDINGS_FILE: &str = "embeddings.parquet";

/// Rows per record batch (and at most per row group).
pub const CHUNK_ROWS: usize = 1 << 20;

/// The values of the `split` column (dictionary-encoded; keys are indices into this).
pub const SPLITS: [&str; 3] = ["train", "validation", "test"];
/// The values of the `kind` column of `embeddings.parquet`.
pub const KINDS: [&str; 2] = ["pin", "board"];

/// An error writing the tables.
#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    /// A file could not be written (its path and the reason).
    #[error(transparent)]
    Write(#[from] ExportError),
    /// The inputs do not fit together (e.g. neighbourhoods of another graph).
    #[error("{table}: {problem}")]
    Mismatch { table: String, problem: String },
}

/// One table written: where, and how many rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub rows: usize,
}

/// Writes `edges.parquet`, `neighbourhoods.parquet` and `embeddings.parquet` into `dir` (created
/// when missing). `nb` and `emb` must cover every node of `g`.
pub fn write_all(
    dir: &Path,
    g: &Graph,
    nb: &NodeNeighbourhoods,
    emb: &Embeddings,
) -> Result<Vec<Written>, TablesError> {
    write_all_chunked(dir, g, nb, emb, CHUNK_ROWS)
}

/// [`write_all`] in record batches (and row groups) of about `chunk_rows` rows.
pub fn write_all_chunked(
    dir: &Path,
    g: &Graph,
    nb: &NodeNeighbourhoods,
    emb: &Embeddings,
    chunk_rows: usize,
) -> Result<Vec<Written>, TablesError> {
    let nodes = g.n_pins() as usize + g.n_boards() as usize;
    let check = |file: &str, what: &str, n: usize| {
        if n == nodes {
            Ok(())
        } else {
            Err(mismatch(&dir.join(file), format!("{what} cover {n} nodes; the graph has {nodes}")))
        }
    };
    check(NEIGHBOURHOODS_FILE, "the neighbourhoods", nb.n_nodes())?;
    check(EMBEDDINGS_FILE, "the embeddings", emb.n_nodes())?;
    let edges = dir.join(EDGES_FILE);
    let neighbourhoods = dir.join(NEIGHBOURHOODS_FILE);
    let embeddings = dir.join(EMBEDDINGS_FILE);
    Ok(vec![
        Written { rows: write_edges(&edges, g, chunk_rows)?, path: edges },
        Written { rows: write_neighbourhoods(&neighbourhoods, nb, chunk_rows)?, path: neighbourhoods },
        Written { rows: write_embeddings(&embeddings, emb, chunk_rows)?, path: embeddings },
    ])
}

fn mismatch(path: &Path, problem: String) -> TablesError {
    TablesError::Mismatch { table: path.display().to_string(), problem }
}

/// The schema of `edges.parquet`: `pin` u32, `board` u32, `split` (dictionary of [`SPLITS`]).
pub fn edges_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("pin", DataType::UInt32, false),
        Field::new("board", DataType::UInt32, false),
        label_field("split"),
    ]))
}

/// The schema of `neighbourhoods.parquet`: `node` u32, `nbr` u32 (a pin), `weight` f32.
pub fn neighbourhoods_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("node", DataType::UInt32, false),
        Field::new("nbr", DataType::UInt32, false),
        Field::new("weight", DataType::Float32, false),
    ]))
}

/// The schema of `embeddings.parquet`: `node` u32 (shared index), `kind` (dictionary of
/// [`KINDS`]), `id` u32 (the pin's or board's own id), `vector` FixedSizeList<f32, dim>.
pub fn embeddings_schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("node", DataType::UInt32, false),
        label_field("kind"),
        Field::new("id", DataType::UInt32, false),
        Field::new("vector", DataType::FixedSizeList(vector_item(), dim as i32), false),
    ]))
}

fn label_field(name: &str) -> Field {
    Field::new(name, DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)), false)
}

fn vector_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Float32, false))
}

/// Every edge once, with its split: per board its training, then validation, then test pins, in
/// batches of whole boards, each closed once it holds `chunk_rows` rows. Returns the number of rows.
pub fn write_edges(path: &Path, g: &Graph, chunk_rows: usize) -> Result<usize, TablesError> {
    let chunk_rows = chunk_rows.max(1);
    let schema = edges_schema();
    let mut rows = 0;
    write_table(path, &schema, chunk_rows, |out| {
        let (mut pins, mut boards, mut splits) = (Vec::new(), Vec::new(), Vec::new());
        for b in 0..g.n_boards() {
            for (split, csr) in [g.board_pins(), g.validation(), g.test()].into_iter().enumerate() {
                let row = row_or_empty(csr, b);
                pins.extend_from_slice(row);
                boards.resize(pins.len(), b);
                splits.resize(pins.len(), split as i8);
            }
            if pins.len() >= chunk_rows || b + 1 == g.n_boards() {
                rows += pins.len();
                out(vec![
                    Arc::new(UInt32Array::from(std::mem::take(&mut pins))),
                    Arc::new(UInt32Array::from(std::mem::take(&mut boards))),
                    labels(std::mem::take(&mut splits), &SPLITS)?,
                ])?;
            }
        }
        Ok(())
    })?;
    Ok(rows)
}

fn row_or_empty(csr: &Csr, row: u32) -> &[u32] {
    if (row as usize) < csr.rows() { csr.row(row) } else { &[] }
}

/// Every node's neighbours and weights, the padding (weight 0) left out. Returns the number of rows.
pub fn write_neighbourhoods(path: &Path, nb: &NodeNeighbourhoods, chunk_rows: usize) -> Result<usize, TablesError> {
    let chunk_rows = chunk_rows.max(1);
    let schema = neighbourhoods_schema();
    let n = nb.n_nodes() as u32;
    let mut rows = 0;
    write_table(path, &schema, chunk_rows, |out| {
        let (mut nodes, mut nbrs, mut weights) = (Vec::new(), Vec::new(), Vec::new());
        for node in 0..n {
            for (&id, &w) in nb.ids_of(node).iter().zip(nb.weights_of(node)) {
                if w != 0.0 {
                    nodes.push(node);
                    nbrs.push(id);
                    weights.push(w);
                }
            }
            if nodes.len() >= chunk_rows || node + 1 == n {
                rows += nodes.len();
                out(vec![
                    Arc::new(UInt32Array::from(std::mem::take(&mut nodes))),
                    Arc::new(UInt32Array::from(std::mem::take(&mut nbrs))),
                    Arc::new(Float32Array::from(std::mem::take(&mut weights))),
                ])?;
            }
        }
        Ok(())
    })?;
    Ok(rows)
}

/// Every node's embedding: pins, then boards. Returns the number of rows.
pub fn write_embeddings(path: &Path, emb: &Embeddings, chunk_rows: usize) -> Result<usize, TablesError> {
    let chunk_rows = chunk_rows.max(1);
    let dim = emb.dim;
    if dim == 0 || !emb.data.len().is_multiple_of(dim) || emb.n_pins > emb.n_nodes() {
        let problem =
            format!("{} values, {} pins, dimension {dim}: not a table of vectors", emb.data.len(), emb.n_pins);
        return Err(mismatch(path, problem));
    }
    let schema = embeddings_schema(dim);
    let n = emb.n_nodes();
    let n_pins = emb.n_pins as u32;
    write_table(path, &schema, chunk_rows, |out| {
        for start in (0..n).step_by(chunk_rows) {
            let range = start as u32..(start + chunk_rows).min(n) as u32;
            let kinds: Vec<i8> = range.clone().map(|v| i8::from(v >= n_pins)).collect();
            let ids: Vec<u32> = range.clone().map(|v| if v < n_pins { v } else { v - n_pins }).collect();
            let values = Float32Array::from(emb.data[range.start as usize * dim..range.end as usize * dim].to_vec());
            let vectors = FixedSizeListArray::try_new(vector_item(), dim as i32, Arc::new(values), None)?;
            out(vec![
                Arc::new(UInt32Array::from_iter_values(range)),
                labels(kinds, &KINDS)?,
                Arc::new(UInt32Array::from(ids)),
                Arc::new(vectors),
            ])?;
        }
        Ok(())
    })?;
    Ok(n)
}

/// A dictionary column: `keys` index into `values`.
fn labels(keys: Vec<i8>, values: &[&str]) -> Result<ArrayRef, ArrowError> {
    let dict =
        DictionaryArray::<Int8Type>::try_new(Int8Array::from(keys), Arc::new(StringArray::from(values.to_vec())))?;
    Ok(Arc::new(dict))
}

pub(crate) type Out<'a> = dyn FnMut(Vec<ArrayRef>) -> Result<(), ArrowError> + 'a;

/// Writes one Parquet file atomically (Snappy): `fill` hands each chunk's columns to `out`.
pub(crate) fn write_table(
    path: &Path,
    schema: &SchemaRef,
    chunk_rows: usize,
    fill: impl FnOnce(&mut Out<'_>) -> Result<(), ArrowError>,
) -> Result<(), ExportError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(chunk_rows))
        .build();
    atomically(path, |w: &mut BufWriter<File>| {
        let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(props)).map_err(std::io::Error::other)?;
        let mut out = |columns: Vec<ArrayRef>| -> Result<(), ArrowError> {
            Ok(writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?)
        };
        fill(&mut out).map_err(std::io::Error::other)?;
        writer.close().map_err(std::io::Error::other)?;
        Ok(())
    })
}
