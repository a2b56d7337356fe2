//! `tables`: a run's edges (with their split), every node's neighbourhood and every node's
//! embedding as Parquet files (`eval::tables`), for pandas, polars, DuckDB, DataFusion or Spark.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use pinsage_explorer::eval::tables;
use pinsage_explorer::sampler::try_node_neighbourhoods;
use pinsage_explorer::train::{self, DeviceChoice};

use super::inspect::load_run_graph;
use super::named;

#[derive(Args, Debug)]
pub struct TablesArgs {
    /// The run folder written by `pinsage train --out`.
    #[arg(long)]
    pub run: PathBuf,
    /// The folder to write edges.parquet, neighbourhoods.parquet and embeddings.parquet into
    /// [default: RUN/tables].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
    pub device: DeviceChoice,
}

pub fn tables_cmd(args: &TablesArgs) -> anyhow::Result<()> {
    let run = &args.run;
    anyhow::ensure!(run.is_dir(), "no run folder at {}", run.display());
    let (g, cfg, dev) = load_run_graph(run, args.device)?;
    // The neighbourhoods the run's model uses (deterministic from its config and graph), built once
    // for the table and for embedding every node.
    let nb = try_node_neighbourhoods(&g, cfg.neighbourhood, &cfg.walk)
        .with_context(|| format!("building the neighbourhoods of {}", run.display()))?;
    let (_, emb) = train::run_embeddings(run, &g, &dev, Some(&nb))?;
    let dir = args.out.clone().unwrap_or_else(|| run.join("tables"));
    let written =
        tables::write_all(&dir, &g, &nb, &emb).with_context(|| format!("writing the tables into {}", dir.display()))?;
    for w in &written {
        println!("wrote {} ({} rows)", w.path.display(), w.rows);
    }
    Ok(())
}
