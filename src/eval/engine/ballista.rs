//! Ballista: the client session that sends the stages to a scheduler, and the scheduler and
//! executor processes (`pinsage ballista scheduler|executor`) built on the Ballista library crates
//! with the engine's UDFs and UDAFs registered (the scheduler plans with them, the executors run
//! them). Executors read the tables, the weights and the graph (`edges.parquet`, for the
//! neighbourhood job) by path, so every machine must see the same files (a shared file system or
//! object store).

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionContext;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionConfig;

use super::EngineError;
use super::pool::pool_udafs;
use super::udf::dense_udfs;
use super::walks::NeighbourhoodUdf;

/// Fails with the address named when nothing answers at `addr` (`host:port`) within 5 s.
pub fn check_reachable(addr: &str) -> Result<(), EngineError> {
    let unreachable = |problem: String| EngineError::Unreachable { addr: addr.to_string(), problem };
    let targets: Vec<SocketAddr> =
        addr.to_socket_addrs().map_err(|e| unreachable(format!("cannot resolve it: {e}")))?.collect();
    let mut last = String::from("it resolves to no address");
    for t in targets {
        match TcpStream::connect_timeout(&t, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(unreachable(last))
}

/// A client session whose queries run on the scheduler at `addr`, its configuration (Ballista's)
/// passed through `tune` (the settings travel with each query to the scheduler).
pub async fn client(addr: &str, tune: &dyn Fn(SessionConfig) -> SessionConfig) -> Result<SessionContext, EngineError> {
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(tune(SessionConfig::new_with_ballista()))
        .build();
    SessionContext::remote_with_state(&format!("df://{addr}"), state)
        .await
        .map_err(|e| EngineError::Unreachable { addr: addr.to_string(), problem: e.to_string() })
}

fn runtime() -> Result<tokio::runtime::Runtime, EngineError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Io(format!("starting the async runtime: {e}")))
}

fn serve_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Io(format!("{what}: {e}"))
}

/// Runs a scheduler on `bind` until the process ends.
pub fn run_scheduler(bind: SocketAddr) -> Result<(), EngineError> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: bind.ip().to_string(),
        override_session_builder: Some(Arc::new(|cfg| {
            let mut state = ballista_core::utils::default_session_builder(cfg)?;
            for f in dense_udfs() {
                state.register_udf(Arc::new(f))?;
            }
            state.register_udf(Arc::new(ScalarUDF::new_from_impl(NeighbourhoodUdf::reading(None))))?;
            for f in pool_udafs() {
                state.register_udaf(Arc::new(f))?;
            }
            Ok(state)
        })),
        ..Default::default()
    };
    runtime()?.block_on(async move {
        let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| serve_err("scheduler", e))?;
        ballista_scheduler::scheduler_process::start_server(cluster, bind, Arc::new(config))
            .await
            .map_err(|e| serve_err(&format!("scheduler on {bind}"), e))
    })
}

/// Where an executor listens and which scheduler it serves.
#[derive(Clone, Debug)]
pub struct ExecutorOptions {
    pub scheduler: String,
    pub host: String,
    /// The Arrow Flight port (results); the gRPC port is the next one.
    pub port: u16,
    pub grpc_port: u16,
    /// Tasks run at once (0: one per core).
    pub slots: usize,
    pub work_dir: std::path::PathBuf,
    /// Told of each graph the executor reads for the neighbourhood job (path, size, seconds).
    pub report: Option<fn(&str)>,
}

/// Runs an executor until the process ends.
pub fn run_executor(opts: &ExecutorOptions) -> Result<(), EngineError> {
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    check_reachable(&opts.scheduler)?;
    let (sched_host, sched_port) = opts
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| EngineError::Usage(format!("scheduler `{}`: expected HOST:PORT", opts.scheduler)))?;
    let mut registry = BallistaFunctionRegistry::default();
    for f in dense_udfs() {
        registry.scalar_functions.insert(f.name().to_string(), Arc::new(f));
    }
    let walks = ScalarUDF::new_from_impl(NeighbourhoodUdf::reading(opts.report));
    registry.scalar_functions.insert(walks.name().to_string(), Arc::new(walks));
    for f in pool_udafs() {
        registry.aggregate_functions.insert(f.name().to_string(), Arc::new(f));
    }
    std::fs::create_dir_all(&opts.work_dir).map_err(|e| serve_err(&opts.work_dir.display().to_string(), e))?;
    let config = ExecutorProcessConfig {
        bind_host: opts.host.clone(),
        external_host: Some(opts.host.clone()),
        port: opts.port,
        grpc_port: opts.grpc_port,
        scheduler_host: sched_host,
        scheduler_port: sched_port,
        vcores: opts.slots,
        work_dir: Some(opts.work_dir.display().to_string()),
        override_function_registry: Some(Arc::new(registry)),
        ..Default::default()
    };
    runtime()?.block_on(start_executor_process(Arc::new(config))).map_err(|e| serve_err("executor", e))
}
