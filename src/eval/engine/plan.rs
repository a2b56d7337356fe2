//! The stages as SQL over registered Parquet tables, run on DataFusion in this process or on a
//! Ballista cluster; each result is streamed batch by batch into its Parquet file (temp name, then
//! rename), so a stage that fails leaves no finished-looking output.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{ParquetReadOptions, SessionConfig};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tokio::runtime::Runtime;

use super::io::{ColumnKind, check_table, write_inputs};
use super::pool::{pool_name, pool_udafs};
use super::udf::dense_udfs;
use super::weights::ModelWeights;
use super::{EMBEDDINGS_FILE, Engine, EngineError, FEATURES_FILE, L0_FILE, L1_FILE, NEIGHBOURHOODS_FILE, WEIGHTS_FILE};
use crate::graph::Graph;
use crate::model::PinSage;
use crate::sampler::NodeNeighbourhoods;

/// One stage done: its output, rows and wall time.
#[derive(Clone, Debug, PartialEq)]
pub struct StageReport {
    pub stage: &'static str,
    pub path: PathBuf,
    pub rows: usize,
    pub seconds: f64,
}

/// Writes the inputs of `model` over `g` and `nb` into `dir`, then runs every stage on `engine`.
pub fn infer(
    engine: &Engine,
    dir: &Path,
    g: &Graph,
    nb: &NodeNeighbourhoods,
    model: &PinSage,
) -> Result<Vec<StageReport>, EngineError> {
    let t = Instant::now();
    write_inputs(dir, g, nb, model)?;
    let mut reports = vec![StageReport {
        stage: "inputs (weights, features, neighbourhoods)",
        path: dir.join(NEIGHBOURHOODS_FILE),
        rows: nb.n_nodes(),
        seconds: t.elapsed().as_secs_f64(),
    }];
    reports.extend(run_stages(engine, dir)?);
    Ok(reports)
}

/// Like [`infer`], but the neighbourhoods are themselves a job on `engine`
/// ([`super::walks::neighbourhood_job`]: the start nodes in partitions of `per_partition`; on
/// Ballista the executors read the graph from the `edges.parquet` written here).
pub fn infer_with_walk_job(
    engine: &Engine,
    dir: &Path,
    g: &Arc<Graph>,
    (kind, walk): (crate::sampler::NeighbourhoodKind, &crate::walk::WalkConfig),
    model: &PinSage,
    per_partition: usize,
) -> Result<Vec<StageReport>, EngineError> {
    let t = Instant::now();
    let n = g.n_pins() as usize + g.n_boards() as usize;
    super::io::write_model_inputs(dir, g, n, model)?;
    let mut reports = vec![StageReport {
        stage: "inputs (weights, features)",
        path: dir.join(FEATURES_FILE),
        rows: n,
        seconds: t.elapsed().as_secs_f64(),
    }];
    reports.push(super::walks::neighbourhood_job(engine, dir, g, (kind, walk), per_partition)?);
    reports.extend(run_stages(engine, dir)?);
    Ok(reports)
}

/// The engine's session: DataFusion here, or a Ballista client (the scheduler checked first, so
/// that an unreachable one is named), its configuration passed through `tune`, with the UDFs and
/// UDAFs of the layers registered for planning.
pub(super) fn context(
    rt: &Runtime,
    engine: &Engine,
    tune: &dyn Fn(SessionConfig) -> SessionConfig,
) -> Result<SessionContext, EngineError> {
    let ctx = match engine {
        Engine::DataFusion => SessionContext::new_with_config_rt(tune(SessionConfig::new()), local_runtime()?),
        Engine::Ballista(addr) => {
            super::ballista::check_reachable(addr)?;
            rt.block_on(super::ballista::client(addr, tune))?
        }
    };
    for f in dense_udfs() {
        ctx.register_udf(f);
    }
    for f in pool_udafs() {
        ctx.register_udaf(f);
    }
    Ok(ctx)
}

/// DataFusion's runtime: its joins and aggregates may hold half of the memory budget
/// (`crate::memory::budget`: `PINSAGE_MEMORY_LIMIT_MIB` or what is available); past that, the
/// operators that can spill (sorts, aggregates) spill to the OS temp folder and the others stop
/// with DataFusion's "resources exhausted" error instead of taking the machine's memory.
pub(super) fn local_runtime() -> Result<std::sync::Arc<RuntimeEnv>, EngineError> {
    let mut env = RuntimeEnvBuilder::new();
    if let Some((bytes, _)) = crate::memory::budget() {
        env = env.with_memory_limit(usize::try_from(bytes / 2).unwrap_or(usize::MAX), 1.0);
    }
    env.build_arc().map_err(|e| EngineError::Query { stage: "the DataFusion runtime".into(), problem: e.to_string() })
}

pub(super) fn quote(path: &Path) -> String {
    path.display().to_string().replace('\'', "''")
}

/// The SQL of one convolve layer (`layer` 0 or 1) over the table `prev`; the last layer runs the
/// head on the combined vector (with `h0` for the skip path).
pub fn layer_sql(layer: usize, w: &ModelWeights, weights: &Path, prev: &str, last: bool) -> String {
    let (wq, h, pool) = (quote(weights), w.hidden_dim, pool_name(w.pooling));
    let msg_dim = w.layers[layer].0.d_out;
    let combined = format!("pinsage_combine(prev.vector, pooled.p, '{wq}', {layer}, {h})");
    let (select, skip_join) = match (last, w.skip) {
        (false, _) => (combined, String::new()),
        (true, false) => (format!("pinsage_head({combined}, prev.vector, '{wq}', {h})"), String::new()),
        (true, true) => (
            format!("pinsage_head({combined}, l0.vector, '{wq}', {h})"),
            "JOIN embeddings_l0 l0 ON l0.node = prev.node".to_string(),
        ),
    };
    format!(
        "WITH msg AS (SELECT node AS src, pinsage_message(vector, '{wq}', {layer}, {msg_dim}) AS m FROM {prev}), \
         pooled AS (SELECT nb.node AS dst, {pool}(nb.weight, msg.m) AS p \
                    FROM neighbourhoods nb JOIN msg ON nb.nbr = msg.src GROUP BY nb.node) \
         SELECT prev.node AS node, {select} AS vector \
         FROM {prev} prev LEFT JOIN pooled ON pooled.dst = prev.node {skip_join}"
    )
}

/// Runs the three stages on `engine` over the inputs in `dir` (written by `io::write_inputs` or by
/// another tool): `embeddings_l0`, `embeddings_l1`, `embeddings`.
pub fn run_stages(engine: &Engine, dir: &Path) -> Result<Vec<StageReport>, EngineError> {
    let dir = std::path::absolute(dir).map_err(|e| EngineError::Io(format!("{}: {e}", dir.display())))?;
    // A previous run's outputs go first: after a failure nothing older may pass for this run's.
    for file in [L0_FILE, L1_FILE, EMBEDDINGS_FILE] {
        match std::fs::remove_file(dir.join(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(EngineError::Io(format!("removing the old {}: {e}", dir.join(file).display())));
            }
            _ => {}
        }
    }
    let weights_path = dir.join(WEIGHTS_FILE);
    let w = ModelWeights::load(&weights_path)?;
    let features = dir.join(FEATURES_FILE);
    let schema = check_table(&features, &[("node", ColumnKind::U32)])?;
    let has_vector = schema.field_with_name("vector").is_ok();
    if let (Some(f), false) = (&w.features, has_vector) {
        let problem = format!("no column `vector`; the model reads {} features per node", f.d_in);
        return Err(EngineError::Table { path: features, problem });
    }
    if has_vector {
        check_table(&features, &[("vector", ColumnKind::Vector)])?;
    }
    let nb = dir.join(NEIGHBOURHOODS_FILE);
    check_table(&nb, &[("node", ColumnKind::U32), ("nbr", ColumnKind::U32), ("weight", ColumnKind::F32)])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Io(format!("starting the async runtime: {e}")))?;
    let ctx = context(&rt, engine, &|c| c)?;
    register(&rt, &ctx, "features", &features)?;
    register(&rt, &ctx, "neighbourhoods", &nb)?;
    let wq = quote(&weights_path);
    let feature_arg = if has_vector && w.features.is_some() { ", vector" } else { "" };
    let l0_sql =
        format!("SELECT node, pinsage_input(node{feature_arg}, '{wq}', {}) AS vector FROM features", w.input_dim);
    let stages = [
        ("layer 0 (input)", l0_sql, L0_FILE, "embeddings_l0"),
        ("layer 1", layer_sql(0, &w, &weights_path, "embeddings_l0", false), L1_FILE, "embeddings_l1"),
        ("layer 2 and head", layer_sql(1, &w, &weights_path, "embeddings_l1", true), EMBEDDINGS_FILE, "embeddings"),
    ];
    let mut reports = Vec::new();
    for (stage, sql, file, table) in stages {
        let t = Instant::now();
        let path = dir.join(file);
        let rows = run_stage(&rt, &ctx, stage, &sql, &path)?;
        register(&rt, &ctx, table, &path)?;
        reports.push(StageReport { stage, path, rows, seconds: t.elapsed().as_secs_f64() });
    }
    Ok(reports)
}

pub(super) fn register(rt: &Runtime, ctx: &SessionContext, name: &str, path: &Path) -> Result<(), EngineError> {
    let shown = path.display().to_string();
    rt.block_on(ctx.register_parquet(name, &shown, ParquetReadOptions::default()))
        .map_err(|e| EngineError::Table { path: path.to_path_buf(), problem: e.to_string() })
}

/// Plans `sql`, streams its batches into `path` (atomically); returns the rows written.
pub(super) fn run_stage(
    rt: &Runtime,
    ctx: &SessionContext,
    stage: &str,
    sql: &str,
    path: &Path,
) -> Result<usize, EngineError> {
    let query = |e: datafusion::error::DataFusionError| EngineError::Query {
        stage: format!("{stage} ({})", path.display()),
        problem: e.to_string(),
    };
    let df = rt.block_on(ctx.sql(sql)).map_err(query)?;
    let mut stream = rt.block_on(df.execute_stream()).map_err(query)?;
    let schema = stream.schema();
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut rows = 0;
    let mut failed = None;
    let written = crate::export::atomically(path, |out| {
        let mut writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props)).map_err(std::io::Error::other)?;
        while let Some(batch) = rt.block_on(stream.next()) {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    failed = Some(e);
                    return Err(std::io::Error::other("the query failed"));
                }
            };
            rows += batch.num_rows();
            writer.write(&batch).map_err(std::io::Error::other)?;
        }
        writer.close().map_err(std::io::Error::other)?;
        Ok(())
    });
    if let Some(e) = failed {
        return Err(query(e));
    }
    written?;
    Ok(rows)
}
