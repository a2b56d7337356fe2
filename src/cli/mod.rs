//! Command-line definitions and the glue from each subcommand to the library: the top-level
//! parser and the dispatch live here; the options in `args`, the commands by group in `training`
//! (train, ablate), `inspect` (stats, eval, recommend, embed), `tables`, `benches`, `fuzz` and `scale`.

mod args;
mod benches;
mod engine;
mod fuzz;
mod inspect;
mod map_bench;
mod parallel;
mod scale;
mod tables;
mod training;

pub use args::{BenchCommand, DataArgs, RecommendArgs, TrainArgs};
pub(crate) use inspect::load_run;

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use pinsage_explorer::ann::SearchKind;
use pinsage_explorer::baselines::EASE_LAMBDAS;
use pinsage_explorer::names::Named;
use pinsage_explorer::train::DeviceChoice;

/// The parser of a library option enum: its names are the possible values (listed in `--help`),
/// parsed with its `FromStr`. clap lives here only; the library's enums know nothing of it.
fn named<T: Named + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::NAMES).try_map(|s| s.parse::<T>())
}

#[derive(Parser, Debug)]
#[command(name = "pinsage", version, about = "PinSage Explorer: learn, inspect and run PinSage on pin–board graphs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// (App) open this graph file or folder, or `default`.
    #[arg(long)]
    pub data: Option<String>,
    /// (App) render a view once the layout settles, save it as PNG here, and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// (App) follow a run folder written by `pinsage train` (live) and load its model.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// (App) the view to open.
    #[arg(long, value_parser = named::<pinsage_explorer::app::View>())]
    pub view: Option<pinsage_explorer::app::View>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print counts, degree statistics and memory use of a graph.
    Stats {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks, printed as JSON with --json.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Train PinSage; progress bars, or one JSON event per line with --json.
    Train(TrainArgs),
    /// Evaluate a run: recall@20 / ndcg@20 (LightGCN protocol) and pin-to-pin hit rate / MRR.
    Eval {
        /// The run folder written by `pinsage train --out`.
        #[arg(long)]
        run: PathBuf,
        /// Also evaluate the baselines on the same split: MostPopular, ItemKNN, EASE^R (λ chosen on
        /// the validation split) and, with features, visual only.
        #[arg(long)]
        baselines: bool,
        /// The λ values EASE^R tries on the validation split (each is one pins × pins inversion).
        #[arg(long, value_delimiter = ',', default_values_t = EASE_LAMBDAS.to_vec())]
        ease_lambdas: Vec<f32>,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        #[arg(long)]
        json: bool,
    },
    /// The paper's ablation (Ying et al., KDD 2018, the component study): baselines and PinSage variants
    /// (uniform vs importance pooling, hard negatives) with the same budget; JSON + table.
    Ablate {
        #[command(flatten)]
        data: DataArgs,
        /// A JSON file with TrainConfig fields: the base every variant starts from.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value_t = 5)]
        epochs: usize,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        /// Where to write the report (the GUI's Results view reads it).
        #[arg(long, default_value = "ablation.json")]
        out: PathBuf,
        #[arg(long)]
        batch_size: Option<usize>,
    },
    /// Recommendations from a trained run: the top pins for a board (its known pins excluded) or
    /// the pins most related to a pin.
    Recommend(RecommendArgs),
    /// Write every node's embedding (.npy), an id/label map (CSV) and each pin's top-k neighbours
    /// (CSV); with --project, a 2-D map of every node instead (CSV `row,kind,id,label,x,y`).
    Embed {
        #[arg(long)]
        run: PathBuf,
        /// Output .npy file (ids.csv and neighbours.csv are written beside it); with --project,
        /// the map's CSV (default: map.csv in the run folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write a 2-D map by PCA, t-SNE or UMAP (t-SNE and UMAP map up to 100,000 nodes in full, a random sample above).
        #[arg(long, value_parser = named::<pinsage_explorer::embed_map::Method>())]
        project: Option<pinsage_explorer::embed_map::Method>,
        /// Neighbours per pin in neighbours.csv.
        #[arg(long, default_value_t = 20)]
        top_k: usize,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        /// Neighbour search: exact, the run's index (`pinsage index`), or auto (the index from
        /// 200,000 pins up when there is one).
        #[arg(long, value_parser = named::<SearchKind>(), default_value_t = SearchKind::Auto)]
        search: SearchKind,
        /// Compute the embeddings as DataFusion / Ballista jobs (`datafusion` or
        /// `ballista://HOST:PORT`) instead of in memory; the tables go to `engine/` beside --out.
        #[arg(long)]
        engine: Option<String>,
    },
    /// The layer-wise inference as jobs on DataFusion or a Ballista cluster, over Parquet tables.
    Infer(engine::InferArgs),
    /// Ballista processes with PinSage's functions: a scheduler or an executor.
    Ballista {
        #[command(subcommand)]
        what: engine::BallistaCommand,
    },
    /// Write a run's edges (with their split), node neighbourhoods and embeddings as Parquet files.
    Tables(tables::TablesArgs),
    /// Build the approximate nearest-neighbour index (HNSW, inner product) of a run's pin embeddings.
    Index {
        #[arg(long)]
        run: PathBuf,
        /// Where to write it [default: RUN/pins.ann].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        #[command(flatten)]
        ann: scale::AnnArgs,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => {
            let options = pinsage_explorer::app::AppOptions {
                ephemeral: cli.screenshot.is_some(),
                data: cli.data,
                screenshot: cli.screenshot,
                view: cli.view,
                run: cli.run,
            };
            pinsage_explorer::app::run(options).map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))
        }
        Some(Command::Stats { data, json }) => {
            let g = data.load()?;
            inspect::print_stats(&g, json)
        }
        Some(Command::Train(args)) => training::train_cmd(&args),
        Some(Command::Ablate { data, config, epochs, device, out, batch_size }) => {
            training::ablate_cmd(&data, config.as_deref(), epochs, device, &out, batch_size)
        }
        Some(Command::Eval { run, baselines, ease_lambdas, device, json }) => {
            inspect::eval_cmd(&run, baselines.then_some(&ease_lambdas[..]), device, json)
        }
        Some(Command::Recommend(args)) => inspect::recommend_cmd(&args),
        Some(Command::Embed { run, out, device, project: Some(method), .. }) => {
            inspect::map_cmd(&run, out, method, device)
        }
        Some(Command::Embed { run, out, top_k, device, project: None, search, engine }) => {
            inspect::embed_cmd(&run, out, top_k, device, search, engine.as_deref())
        }
        Some(Command::Infer(args)) => engine::infer_cmd(&args),
        Some(Command::Bench { what: BenchCommand::Engine(args) }) => engine::bench_engine(&args),
        Some(Command::Ballista { what }) => engine::ballista_cmd(&what),
        Some(Command::Bench { what: BenchCommand::Embed { run, device, repeats } }) => {
            benches::embed(&run, device, repeats)
        }
        Some(Command::Bench { what: BenchCommand::FuzzLoaders { inputs, seed, loader, json } }) => {
            fuzz::fuzz_loaders(inputs, seed, loader, json)
        }
        Some(Command::Bench { what: BenchCommand::TrainStep(a) }) => match &a.devices {
            Some(d) => parallel::bench_train_step(&a.data, a.device, a.steps, a.batch_size, &d.0, a.json),
            None => benches::train_step(&a),
        },
        Some(Command::Tables(args)) => tables::tables_cmd(&args),
        Some(Command::Index { run, out, device, ann }) => scale::index_cmd(&run, out, device, &ann),
        Some(Command::Bench { what: BenchCommand::Scale(args) }) => scale::bench_scale(&args),
        Some(Command::Bench { what: BenchCommand::Ann(args) }) => scale::bench_ann_cmd(&args),
        Some(Command::Bench { what: BenchCommand::Map(args) }) => map_bench::bench_map_cmd(&args),
        Some(Command::Bench { what: BenchCommand::Walks { data, walk, repeats, hard_pools, json } }) => {
            benches::walks(&data, &walk, repeats, hard_pools, json)
        }
    }
}
