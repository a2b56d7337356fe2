//! Neighbourhood generation as an engine job, the paper's first MapReduce step, on DataFusion in
//! this process or on Ballista's executors.
//!
//! The start nodes sit in `nodes.parquet`, one row group per partition, and the graph in
//! `edges.parquet` (`eval::tables`' edges table). `pinsage_neighbourhood(node, 'edges.parquet',
//! n_pins, n_boards, 'walks', T, L, K, restart, seed)` walks from each batch's pins and samples
//! each batch's boards' pins, and returns each node's rows; they are unnested into
//! `neighbourhoods.parquet` `(node, nbr, weight)`, without the padding. Everything the function
//! needs is a literal argument of the plan, so Ballista ships it by name and an executor's copy
//! reads the graph from the edges table itself (`edges::cached_graph`: once per process and file,
//! shared by every partition); in this process the function is handed the graph already in memory
//! for that path. Every row depends only on its own node (walks and board samples are seeded per
//! node), so the table equals `sampler::node_neighbourhoods`'s, however the nodes fall into
//! partitions and wherever they run (tested).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float32Array, ListArray, StructArray, UInt32Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, UInt32Type};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use super::edges::{EDGES_FILE, cached_graph};
use super::io::{ColumnKind, check_table};
use super::plan::{StageReport, context, quote, register, run_stage};
use super::{Engine, EngineError, NEIGHBOURHOODS_FILE};
use crate::graph::Graph;
use crate::sampler::{NeighbourhoodKind, board_row, pin_rows};
use crate::walk::WalkConfig;

/// The start nodes' table inside the engine's folder.
pub const NODES_FILE: &str = "nodes.parquet";

/// Start nodes per partition (row group of `nodes.parquet`).
pub const NODES_PER_PARTITION: usize = 4096;

/// The function's name in SQL.
pub const NEIGHBOURHOOD_UDF: &str = "pinsage_neighbourhood";

/// What the job computes, besides the edges: the graph's shape and the neighbourhood settings.
#[derive(Clone, Debug, PartialEq)]
pub struct NeighbourhoodSpec {
    pub n_pins: u32,
    pub n_boards: u32,
    pub kind: NeighbourhoodKind,
    pub walk: WalkConfig,
}

impl NeighbourhoodSpec {
    pub fn new(g: &Graph, kind: NeighbourhoodKind, walk: &WalkConfig) -> Self {
        Self { n_pins: g.n_pins(), n_boards: g.n_boards(), kind, walk: walk.clone() }
    }

    /// The SQL call over the column `node` with the graph in `edges`. The restart probability is
    /// written as the f64 of the f32, which reads back to the same f32.
    pub fn call(&self, edges: &Path) -> String {
        let w = &self.walk;
        format!(
            "{NEIGHBOURHOOD_UDF}(node, '{}', {}, {}, '{}', {}, {}, {}, {:?}, {})",
            quote(edges),
            self.n_pins,
            self.n_boards,
            self.kind,
            w.walks,
            w.length,
            w.top_k,
            f64::from(w.restart),
            w.seed
        )
    }

    /// The edges path and the spec from the function's literal arguments (all but `node`).
    fn from_args(args: &[ColumnarValue]) -> Result<(PathBuf, Self)> {
        let [edges, n_pins, n_boards, kind, walks, length, top_k, restart, seed] = args else {
            return exec_err!(
                "{NEIGHBOURHOOD_UDF}: expected (node, edges path, n_pins, n_boards, kind, walks, length, top_k, \
                 restart, seed), got {} arguments",
                args.len() + 1
            );
        };
        let u32_arg = |v: &ColumnarValue, what: &str| -> Result<u32> {
            u32::try_from(literal_u64(v, what)?).map_err(|_| arg_err(what, "is too large"))
        };
        let kind: NeighbourhoodKind =
            literal_string(kind, "kind")?.parse().map_err(|e| arg_err("kind", &format!("{e}")))?;
        let walk = WalkConfig {
            walks: u32_arg(walks, "walks")?,
            length: u32_arg(length, "length")?,
            top_k: usize::try_from(u32_arg(top_k, "top_k")?).map_err(|_| arg_err("top_k", "is too large"))?,
            restart: literal_f64(restart, "restart")? as f32,
            seed: literal_u64(seed, "seed")?,
        };
        walk.validate().map_err(|e| DataFusionError::Execution(format!("{NEIGHBOURHOOD_UDF}: {e}")))?;
        let spec = Self { n_pins: u32_arg(n_pins, "n_pins")?, n_boards: u32_arg(n_boards, "n_boards")?, kind, walk };
        Ok((PathBuf::from(literal_string(edges, "edges path")?), spec))
    }
}

fn arg_err(what: &str, problem: &str) -> DataFusionError {
    DataFusionError::Execution(format!("{NEIGHBOURHOOD_UDF}: the {what} {problem}"))
}

fn literal_string(v: &ColumnarValue, what: &str) -> Result<String> {
    match v {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)),
        ) => Ok(s.clone()),
        _ => Err(arg_err(what, "must be a string literal")),
    }
}

fn literal_u64(v: &ColumnarValue, what: &str) -> Result<u64> {
    let negative = || arg_err(what, "must not be negative");
    match v {
        ColumnarValue::Scalar(ScalarValue::UInt64(Some(x))) => Ok(*x),
        ColumnarValue::Scalar(ScalarValue::UInt32(Some(x))) => Ok(u64::from(*x)),
        ColumnarValue::Scalar(ScalarValue::Int64(Some(x))) => u64::try_from(*x).map_err(|_| negative()),
        ColumnarValue::Scalar(ScalarValue::Int32(Some(x))) => u64::try_from(*x).map_err(|_| negative()),
        _ => Err(arg_err(what, "must be an integer literal")),
    }
}

fn literal_f64(v: &ColumnarValue, what: &str) -> Result<f64> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Float64(Some(x))) => Ok(*x),
        ColumnarValue::Scalar(ScalarValue::Float32(Some(x))) => Ok(f64::from(*x)),
        ColumnarValue::Scalar(ScalarValue::Int64(Some(x))) => Ok(*x as f64),
        _ => Err(arg_err(what, "must be a number literal")),
    }
}

/// `pinsage_neighbourhood(node, 'edges', …)`: the node's neighbours and weights, padding left out.
/// The graph is `local`'s when the edges path is its path, else read from the edges table (once
/// per process; `report` hears of each read).
#[derive(Debug)]
pub struct NeighbourhoodUdf {
    local: Option<(PathBuf, Arc<Graph>)>,
    report: Option<fn(&str)>,
    signature: Signature,
}

impl NeighbourhoodUdf {
    /// A function that reads every graph from its edges table (a Ballista executor's).
    pub fn reading(report: Option<fn(&str)>) -> Self {
        Self { local: None, report, signature: Signature::variadic_any(Volatility::Immutable) }
    }

    /// A function that uses `g` for the edges table at `edges` (written from `g`).
    pub fn with_graph(edges: PathBuf, g: Arc<Graph>) -> Self {
        Self { local: Some((edges, g)), ..Self::reading(None) }
    }

    fn graph(&self, edges: &Path, spec: &NeighbourhoodSpec) -> Result<Arc<Graph>> {
        let g = match &self.local {
            Some((path, g)) if path == edges => Arc::clone(g),
            _ => cached_graph(edges, spec.n_pins, spec.n_boards, self.report)
                .map_err(|e| DataFusionError::Execution(format!("{NEIGHBOURHOOD_UDF}: {e}")))?,
        };
        if (g.n_pins(), g.n_boards()) != (spec.n_pins, spec.n_boards) {
            return exec_err!(
                "{NEIGHBOURHOOD_UDF}: the graph of {} has {} pins and {} boards, the call says {} and {}",
                edges.display(),
                g.n_pins(),
                g.n_boards(),
                spec.n_pins,
                spec.n_boards
            );
        }
        Ok(g)
    }
}

impl PartialEq for NeighbourhoodUdf {
    fn eq(&self, other: &Self) -> bool {
        match (&self.local, &other.local) {
            (None, None) => true,
            (Some((p, g)), Some((q, h))) => p == q && Arc::ptr_eq(g, h),
            _ => false,
        }
    }
}

impl Eq for NeighbourhoodUdf {}

impl Hash for NeighbourhoodUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if let Some((p, g)) = &self.local {
            p.hash(state);
            std::ptr::hash(Arc::as_ptr(g), state);
        }
    }
}

fn row_fields() -> Fields {
    Fields::from(vec![Field::new("nbr", DataType::UInt32, false), Field::new("weight", DataType::Float32, false)])
}

fn row_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Struct(row_fields()), false)))
}

impl ScalarUDFImpl for NeighbourhoodUdf {
    fn name(&self) -> &str {
        NEIGHBOURHOOD_UDF
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(row_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some((node_arg, rest)) = args.args.split_first() else {
            return exec_err!("{NEIGHBOURHOOD_UDF}: no arguments");
        };
        let (edges, spec) = NeighbourhoodSpec::from_args(rest)?;
        let nodes = node_arg.to_array(args.number_rows)?;
        let Some(nodes) = nodes.as_primitive_opt::<UInt32Type>() else {
            return exec_err!("{NEIGHBOURHOOD_UDF}: `node` must be u32, got {}", nodes.data_type());
        };
        if nodes.null_count() > 0 {
            return exec_err!("{NEIGHBOURHOOD_UDF}: `node` has null values");
        }
        let n_nodes = spec.n_pins + spec.n_boards;
        if let Some(&bad) = nodes.values().iter().find(|&&v| v >= n_nodes) {
            return exec_err!("{NEIGHBOURHOOD_UDF}: node {bad} is not in the graph ({n_nodes} nodes)");
        }
        let g = self.graph(&edges, &spec)?;
        neighbourhood_rows(&g, &spec, nodes.values())
    }
}

/// The rows of `nodes` as a list of (nbr, weight) structs per node.
fn neighbourhood_rows(g: &Graph, spec: &NeighbourhoodSpec, nodes: &[u32]) -> Result<ColumnarValue> {
    let (k, n_pins) = (spec.walk.top_k, g.n_pins());
    // This batch's pins walk together (in parallel), as the in-memory table's do.
    let pins: Vec<u32> = nodes.iter().copied().filter(|&v| v < n_pins).collect();
    let pin_nb = pin_rows(g, spec.kind, &spec.walk, &pins);
    let (mut offsets, mut nbr, mut weight) = (vec![0i32], Vec::new(), Vec::new());
    let (mut pin_i, mut ids, mut ws) = (0usize, Vec::with_capacity(k), Vec::with_capacity(k));
    for &v in nodes {
        ids.clear();
        ws.clear();
        if v < n_pins {
            ids.extend_from_slice(&pin_nb.ids[pin_i * k..(pin_i + 1) * k]);
            ws.extend_from_slice(&pin_nb.weights[pin_i * k..(pin_i + 1) * k]);
            pin_i += 1;
        } else {
            board_row(g, v - n_pins, k, spec.walk.seed, &mut ids, &mut ws);
        }
        for (&id, &w) in ids.iter().zip(&ws) {
            if w != 0.0 {
                nbr.push(id);
                weight.push(w);
            }
        }
        offsets.push(i32::try_from(nbr.len()).map_err(|e| DataFusionError::External(e.into()))?);
    }
    let columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(nbr)), Arc::new(Float32Array::from(weight))];
    let rows = StructArray::try_new(row_fields(), columns, None)?;
    let item = Arc::new(Field::new("item", DataType::Struct(row_fields()), false));
    let list = ListArray::try_new(item, OffsetBuffer::new(offsets.into()), Arc::new(rows), None)?;
    Ok(ColumnarValue::Array(Arc::new(list)))
}

/// Writes the job's inputs for `g` into `dir`: `nodes.parquet` (every node, `per_partition` a row
/// group) and `edges.parquet` (the graph's edges with their split), each atomically.
pub fn write_job_inputs(dir: &Path, g: &Graph, per_partition: usize) -> Result<(), EngineError> {
    let per_partition = per_partition.max(1);
    std::fs::create_dir_all(dir).map_err(|e| EngineError::Io(format!("creating {}: {e}", dir.display())))?;
    let n = g.n_pins() as usize + g.n_boards() as usize;
    let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("node", DataType::UInt32, false)]));
    crate::eval::tables::write_table(&dir.join(NODES_FILE), &schema, per_partition, |out| {
        for start in (0..n).step_by(per_partition) {
            let end = (start + per_partition).min(n);
            out(vec![Arc::new(UInt32Array::from_iter_values(start as u32..end as u32)) as ArrayRef])?;
        }
        Ok(())
    })?;
    crate::eval::tables::write_edges(&dir.join(EDGES_FILE), g, crate::eval::tables::CHUNK_ROWS)?;
    Ok(())
}

/// Writes the job's inputs for `g` into `dir` ([`write_job_inputs`]), then runs the neighbourhood
/// job on `engine` into `neighbourhoods.parquet`: on DataFusion with `g` itself, on Ballista with
/// the executors reading `edges.parquet` (every executor must see `dir` at the same path).
pub fn neighbourhood_job(
    engine: &Engine,
    dir: &Path,
    g: &Arc<Graph>,
    (kind, walk): (NeighbourhoodKind, &WalkConfig),
    per_partition: usize,
) -> Result<StageReport, EngineError> {
    let t = Instant::now();
    walk.validate().map_err(|e| EngineError::Usage(format!("the neighbourhood job: {e}")))?;
    write_job_inputs(dir, g, per_partition)?;
    let local = (*engine == Engine::DataFusion).then(|| Arc::clone(g));
    let mut report = run_neighbourhood_job(engine, dir, &NeighbourhoodSpec::new(g, kind, walk), local)?;
    report.seconds = t.elapsed().as_secs_f64();
    Ok(report)
}

/// Runs the neighbourhood job on `engine` over `nodes.parquet` and `edges.parquet` in `dir` into
/// `neighbourhoods.parquet` (the old one removed first). With `local`, the function uses that graph
/// for the edges table instead of reading it (it must be the graph the table was written from).
/// On Ballista each row group of the nodes is a partition (a task); DataFusion makes one partition
/// per core, of whole row groups.
pub fn run_neighbourhood_job(
    engine: &Engine,
    dir: &Path,
    spec: &NeighbourhoodSpec,
    local: Option<Arc<Graph>>,
) -> Result<StageReport, EngineError> {
    let t = Instant::now();
    let dir = std::path::absolute(dir).map_err(|e| EngineError::Io(format!("{}: {e}", dir.display())))?;
    let path = dir.join(NEIGHBOURHOODS_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(EngineError::Io(format!("removing the old {}: {e}", path.display())));
        }
        _ => {}
    }
    let nodes_path = dir.join(NODES_FILE);
    check_table(&nodes_path, &[("node", ColumnKind::U32)])?;
    let (row_groups, group_rows) = super::io::row_groups(&nodes_path)?;
    let (row_groups, group_rows) = (row_groups.max(1), group_rows.max(1));
    let partitions = match engine {
        Engine::DataFusion => row_groups.min(std::thread::available_parallelism().map_or(1, |n| n.get())),
        Engine::Ballista(_) => row_groups,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Io(format!("starting the engine's runtime: {e}")))?;
    // The nodes file is small: DataFusion splits a file scan only past 10 MB and past one batch of
    // rows, so both are lowered to split it by row groups (a batch is a row group's nodes).
    let ctx = context(&rt, engine, &|c| {
        c.with_target_partitions(partitions)
            .with_batch_size(group_rows)
            .set_usize("datafusion.optimizer.repartition_file_min_size", 0)
    })?;
    let edges = dir.join(EDGES_FILE);
    let udf = match local {
        Some(g) => NeighbourhoodUdf::with_graph(edges.clone(), g),
        None => NeighbourhoodUdf::reading(None),
    };
    ctx.register_udf(ScalarUDF::new_from_impl(udf));
    register(&rt, &ctx, "nodes", &nodes_path)?;
    let sql = format!(
        "SELECT node, get_field(n, 'nbr') AS nbr, get_field(n, 'weight') AS weight \
         FROM (SELECT node, unnest({}) AS n FROM nodes)",
        spec.call(&edges)
    );
    let rows = run_stage(&rt, &ctx, "neighbourhoods", &sql, &path)?;
    Ok(StageReport {
        stage: "neighbourhoods (walks per partition of start nodes)",
        path,
        rows,
        seconds: t.elapsed().as_secs_f64(),
    })
}
