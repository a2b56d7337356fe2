//! `infer --engine`, `embed --engine` and `ballista scheduler|executor`: the MapReduce inference
//! as DataFusion / Ballista jobs over Parquet tables (`eval::engine`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use pinsage_explorer::eval::engine::{self, Engine, io::read_embeddings};
use pinsage_explorer::graph::Graph;
use pinsage_explorer::infer::Embeddings;
use pinsage_explorer::sampler::try_node_neighbourhoods;
use pinsage_explorer::train::{self, DeviceChoice};

use super::inspect::load_run_graph;
use super::named;

#[derive(Args, Debug)]
pub struct InferArgs {
    /// The run folder written by `pinsage train --out`.
    #[arg(long)]
    pub run: PathBuf,
    /// `datafusion` (in this process) or `ballista://HOST:PORT` (a scheduler; every executor must
    /// see the --out folder at the same path).
    #[arg(long, default_value = "datafusion")]
    pub engine: String,
    /// The folder for the tables: weights.safetensors, features, neighbourhoods, embeddings_l0,
    /// embeddings_l1 and embeddings (.parquet) [default: RUN/engine].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the model is loaded to read its weights.
    #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Start nodes per partition of the neighbourhood job (a task on Ballista).
    #[arg(long, default_value_t = engine::walks::NODES_PER_PARTITION)]
    pub partition_nodes: usize,
}

#[derive(Subcommand, Debug)]
pub enum BallistaCommand {
    /// Run a Ballista scheduler with PinSage's functions until killed.
    Scheduler {
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
    },
    /// Run a Ballista executor with PinSage's functions until killed.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long)]
        scheduler: String,
        /// The address it listens on and tells the scheduler.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Its Arrow Flight port (results are fetched there).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// Its gRPC port (tasks arrive there).
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks at once (0: one per core).
        #[arg(long, default_value_t = 0)]
        slots: usize,
        /// Its shuffle files [default: a folder in the system temp dir named by the port].
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
}

/// Runs the engine on a run's model (the neighbourhood job's start nodes in partitions of
/// `partition_nodes`); returns the graph and the stage reports.
fn run_engine(
    run: &Path,
    engine_arg: &str,
    out: &Path,
    (device, partition_nodes): (DeviceChoice, usize),
) -> anyhow::Result<(std::sync::Arc<Graph>, Vec<engine::StageReport>)> {
    let engine: Engine = engine_arg.parse()?;
    anyhow::ensure!(run.is_dir(), "no run folder at {}", run.display());
    let (g, cfg, dev) = load_run_graph(run, device)?;
    let (_, model) = train::load_model(run, &g, &dev)?;
    let g = std::sync::Arc::new(g);
    let reports =
        engine::infer_with_walk_job(&engine, out, &g, (cfg.neighbourhood, &cfg.walk), &model, partition_nodes)
            .with_context(|| format!("running the inference on {engine} into {}", out.display()))?;
    Ok((g, reports))
}

pub fn infer_cmd(args: &InferArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.run.join("engine"));
    anyhow::ensure!(args.partition_nodes > 0, "--partition-nodes must be at least 1");
    let (_, reports) = run_engine(&args.run, &args.engine, &out, (args.device, args.partition_nodes))?;
    for r in &reports {
        println!("{:<52} {:>10} rows {:>8.2} s  {}", r.stage, r.rows, r.seconds, r.path.display());
    }
    Ok(())
}

/// `embed --engine`: every node's embedding from the engine's `embeddings.parquet` (the tables
/// go to `engine/` beside the .npy).
pub fn engine_embeddings(
    run: &Path,
    engine_arg: &str,
    npy: &Path,
    device: DeviceChoice,
) -> anyhow::Result<(Graph, Embeddings)> {
    let dir = npy.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("engine");
    let (g, reports) = run_engine(run, engine_arg, &dir, (device, engine::walks::NODES_PER_PARTITION))?;
    let path = &reports.last().context("the engine ran no stage")?.path;
    let n = g.n_pins() as usize + g.n_boards() as usize;
    let emb = read_embeddings(path, n, g.n_pins() as usize)?;
    // The job's graph handle is gone once it has run; the graph is not copied.
    let g = std::sync::Arc::try_unwrap(g).unwrap_or_else(|g| (*g).clone());
    Ok((g, emb))
}

pub fn ballista_cmd(what: &BallistaCommand) -> anyhow::Result<()> {
    match what {
        BallistaCommand::Scheduler { bind } => {
            eprintln!("ballista scheduler listening on {bind}");
            Ok(engine::ballista::run_scheduler(*bind)?)
        }
        BallistaCommand::Executor { scheduler, host, port, grpc_port, slots, work_dir } => {
            let work_dir =
                work_dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("pinsage-executor-{port}")));
            let opts = engine::ballista::ExecutorOptions {
                scheduler: scheduler.clone(),
                host: host.clone(),
                port: *port,
                grpc_port: *grpc_port,
                slots: *slots,
                work_dir,
                report: Some(|m| eprintln!("ballista executor: {m}")),
            };
            eprintln!("ballista executor on {host}:{port} (gRPC {grpc_port}) for the scheduler at {scheduler}");
            Ok(engine::ballista::run_executor(&opts)?)
        }
    }
}

/// Which inference `bench engine` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchPath {
    /// `embed_all` in memory (flex CPU backend).
    Memory,
    /// The DataFusion jobs over Parquet.
    Datafusion,
    /// Both, and their largest difference.
    Both,
    /// The neighbourhood job alone on --engine, its table checked against the in-memory one.
    Neighbourhoods,
}

#[derive(Args, Debug)]
pub struct BenchEngineArgs {
    #[command(flatten)]
    pub data: super::args::DataArgs,
    #[command(flatten)]
    pub walk: super::args::WalkArgs,
    /// Run one path (so that the process's peak RSS is that path's) or both.
    #[arg(long, value_enum, default_value_t = BenchPath::Both)]
    pub path: BenchPath,
    /// The engine's table folder [default: a temp folder, removed after].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the jobs run: `datafusion` or `ballista://HOST:PORT` (the executors must see --out).
    #[arg(long, default_value = "datafusion")]
    pub engine: String,
}

/// `bench engine`: seconds (and peak RSS) of the in-memory layer-wise inference and of the
/// DataFusion jobs on one graph, with an untrained 64-d model (weights do not change the cost).
pub fn bench_engine(args: &BenchEngineArgs) -> anyhow::Result<()> {
    use pinsage_explorer::eval::scale::peak_rss_bytes;
    let engine: Engine = args.engine.parse()?;
    let g = args.data.load()?;
    if args.path == BenchPath::Neighbourhoods {
        return bench_neighbourhood_job(args, &engine, std::sync::Arc::new(g));
    }
    let t = std::time::Instant::now();
    let nb = try_node_neighbourhoods(&g, pinsage_explorer::sampler::NeighbourhoodKind::Walks, &args.walk.config()?)?;
    let nb_secs = t.elapsed().as_secs_f64();
    let dev = burn::prelude::Device::flex();
    let feature_dim = g.features.as_ref().map_or(0, |f| f.dim);
    let model =
        pinsage_explorer::model::PinSageConfig::new(g.n_pins() as usize, g.n_boards() as usize, feature_dim).init(&dev);
    let mut out = serde_json::json!({
        "nodes": nb.n_nodes(), "pins": g.n_pins(), "edges": g.n_edges(), "k": nb.k,
        "neighbourhood_secs": nb_secs, "threads": rayon::current_num_threads(),
        "peak_rss_after_neighbourhoods": peak_rss_bytes(),
    });
    let mut mem = None;
    if args.path != BenchPath::Datafusion {
        let t = std::time::Instant::now();
        let emb =
            pinsage_explorer::infer::embed_all(&model, &nb, g.features.as_ref(), &dev, train::INFER_CHUNK, |_, _| {})?;
        out["memory_secs"] = t.elapsed().as_secs_f64().into();
        out["peak_rss_after_memory"] = peak_rss_bytes().into();
        mem = Some(emb);
    }
    if args.path != BenchPath::Memory {
        let tmp = std::env::temp_dir().join(format!("pinsage-bench-engine-{}", std::process::id()));
        let dir = args.out.clone().unwrap_or_else(|| tmp.clone());
        let t = std::time::Instant::now();
        let reports = engine::infer(&engine, &dir, &g, &nb, &model)?;
        out["engine"] = engine.to_string().into();
        out["datafusion_secs"] = t.elapsed().as_secs_f64().into();
        out["datafusion_stages"] =
            reports.iter().map(|r| serde_json::json!({"stage": r.stage, "rows": r.rows, "secs": r.seconds})).collect();
        out["peak_rss_after_datafusion"] = peak_rss_bytes().into();
        if let Some(mem) = &mem {
            let got = read_embeddings(&dir.join(engine::EMBEDDINGS_FILE), mem.n_nodes(), mem.n_pins)?;
            let diff = got.data.iter().zip(&mem.data).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            out["max_abs_diff"] = diff.into();
        }
        if args.out.is_none() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `bench engine --path neighbourhoods`: the neighbourhood job alone on `engine` (seconds, rows,
/// this process's peak RSS after it), then the in-memory table and whether the job's equals it.
fn bench_neighbourhood_job(args: &BenchEngineArgs, engine: &Engine, g: std::sync::Arc<Graph>) -> anyhow::Result<()> {
    use pinsage_explorer::eval::scale::peak_rss_bytes;
    use pinsage_explorer::sampler::NeighbourhoodKind;
    let walk = args.walk.config()?;
    let tmp = std::env::temp_dir().join(format!("pinsage-bench-walk-job-{}", std::process::id()));
    let dir = args.out.clone().unwrap_or_else(|| tmp.clone());
    let t = std::time::Instant::now();
    let kind = NeighbourhoodKind::Walks;
    let report = engine::walks::neighbourhood_job(engine, &dir, &g, (kind, &walk), engine::walks::NODES_PER_PARTITION)?;
    let job_secs = t.elapsed().as_secs_f64();
    let peak_after_job = peak_rss_bytes();
    let n = g.n_pins() as usize + g.n_boards() as usize;
    let got = engine::io::read_neighbourhood_rows(&report.path, n)?;
    let t = std::time::Instant::now();
    let nb = try_node_neighbourhoods(&g, kind, &walk)?;
    let memory_secs = t.elapsed().as_secs_f64();
    let differing = (0..n as u32)
        .filter(|&v| {
            let want = nb.ids_of(v).iter().zip(nb.weights_of(v)).filter(|&(_, &w)| w != 0.0).map(|(&i, &w)| (i, w));
            !want.eq(got[v as usize].iter().copied())
        })
        .count();
    if args.out.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let out = serde_json::json!({
        "engine": engine.to_string(), "nodes": n, "pins": g.n_pins(), "edges": g.n_edges(), "k": walk.top_k,
        "threads": rayon::current_num_threads(), "job_secs": job_secs, "rows": report.rows,
        "peak_rss_after_job": peak_after_job, "memory_secs": memory_secs,
        "nodes_differing_from_memory": differing,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    anyhow::ensure!(differing == 0, "{differing} nodes' neighbourhoods differ from the in-memory table's");
    Ok(())
}
