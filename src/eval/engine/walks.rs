//! Neighbourhood generation as a DataFusion job, the paper's first MapReduce step.
//!
//! The start nodes sit in `nodes.parquet`, one row group per partition. A UDF walks from each
//! batch's pins and samples each batch's boards' pins, and returns each node's rows. The rows are
//! unnested into `neighbourhoods.parquet` `(node, nbr, weight)`, without the padding. Every row
//! depends only on its own node (walks and board samples are seeded per node), so the table equals
//! `sampler::node_neighbourhoods`'s, however the nodes fall into partitions (tested).

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, AsArray, Float32Array, ListArray, StructArray, UInt32Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, UInt32Type};
use datafusion::common::{Result, exec_err};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::prelude::SessionConfig;

use super::plan::{StageReport, local_runtime, register, run_stage};
use super::{EngineError, NEIGHBOURHOODS_FILE};
use crate::graph::Graph;
use crate::sampler::{NeighbourhoodKind, board_row, pin_rows};
use crate::walk::WalkConfig;

/// The start nodes' table inside the engine's folder.
pub const NODES_FILE: &str = "nodes.parquet";

/// Start nodes per partition (row group of `nodes.parquet`).
pub const NODES_PER_PARTITION: usize = 4096;

/// `pinsage_neighbourhood(node)`: the node's neighbours and weights, padding left out.
#[derive(Debug)]
pub struct NeighbourhoodUdf {
    g: Arc<Graph>,
    kind: NeighbourhoodKind,
    walk: WalkConfig,
    signature: Signature,
}

impl NeighbourhoodUdf {
    pub fn new(g: Arc<Graph>, kind: NeighbourhoodKind, walk: WalkConfig) -> Self {
        Self { g, kind, walk, signature: Signature::exact(vec![DataType::UInt32], Volatility::Immutable) }
    }
}

impl PartialEq for NeighbourhoodUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.g, &other.g) && self.kind == other.kind && self.walk == other.walk
    }
}

impl Eq for NeighbourhoodUdf {}

impl Hash for NeighbourhoodUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.g), state);
        self.walk.top_k.hash(state);
        self.walk.seed.hash(state);
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
        "pinsage_neighbourhood"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(row_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let nodes = match &args.args[0] {
            ColumnarValue::Array(a) => Arc::clone(a),
            ColumnarValue::Scalar(s) => s.to_array()?,
        };
        let Some(nodes) = nodes.as_primitive_opt::<UInt32Type>() else {
            return exec_err!("pinsage_neighbourhood: `node` must be u32");
        };
        let (g, k) = (&self.g, self.walk.top_k);
        let n_pins = g.n_pins();
        if let Some(&bad) = nodes.values().iter().find(|&&v| v >= n_pins + g.n_boards()) {
            return exec_err!(
                "pinsage_neighbourhood: node {bad} is not in the graph ({} nodes)",
                n_pins + g.n_boards()
            );
        }
        // This batch's pins walk together (in parallel), as the in-memory table's do.
        let pins: Vec<u32> = nodes.values().iter().copied().filter(|&v| v < n_pins).collect();
        let pin_nb = pin_rows(g, self.kind, &self.walk, &pins);
        let (mut offsets, mut nbr, mut weight) = (vec![0i32], Vec::new(), Vec::new());
        let (mut pin_i, mut ids, mut ws) = (0usize, Vec::with_capacity(k), Vec::with_capacity(k));
        for &v in nodes.values() {
            ids.clear();
            ws.clear();
            if v < n_pins {
                ids.extend_from_slice(&pin_nb.ids[pin_i * k..(pin_i + 1) * k]);
                ws.extend_from_slice(&pin_nb.weights[pin_i * k..(pin_i + 1) * k]);
                pin_i += 1;
            } else {
                board_row(g, v - n_pins, k, self.walk.seed, &mut ids, &mut ws);
            }
            for (&id, &w) in ids.iter().zip(&ws) {
                if w != 0.0 {
                    nbr.push(id);
                    weight.push(w);
                }
            }
            offsets
                .push(i32::try_from(nbr.len()).map_err(|e| datafusion::common::DataFusionError::External(e.into()))?);
        }
        let columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(nbr)), Arc::new(Float32Array::from(weight))];
        let rows = StructArray::try_new(row_fields(), columns, None)?;
        let item = Arc::new(Field::new("item", DataType::Struct(row_fields()), false));
        let list = ListArray::try_new(item, OffsetBuffer::new(offsets.into()), Arc::new(rows), None)?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// Writes `nodes.parquet` (every node of `g`, `per_partition` a row group) into `dir`, then runs
/// the neighbourhood job on DataFusion into `neighbourhoods.parquet`.
pub fn neighbourhood_job(
    dir: &Path,
    g: Arc<Graph>,
    (kind, walk): (NeighbourhoodKind, &WalkConfig),
    per_partition: usize,
) -> Result<StageReport, EngineError> {
    let per_partition = per_partition.max(1);
    let t = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| EngineError::Io(format!("creating {}: {e}", dir.display())))?;
    let dir = std::path::absolute(dir).map_err(|e| EngineError::Io(format!("{}: {e}", dir.display())))?;
    let n = g.n_pins() as usize + g.n_boards() as usize;
    let nodes_path = dir.join(NODES_FILE);
    let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("node", DataType::UInt32, false)]));
    crate::eval::tables::write_table(&nodes_path, &schema, per_partition, |out| {
        for start in (0..n).step_by(per_partition) {
            let end = (start + per_partition).min(n);
            out(vec![Arc::new(UInt32Array::from_iter_values(start as u32..end as u32)) as ArrayRef])?;
        }
        Ok(())
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Io(format!("starting the engine's runtime: {e}")))?;
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), local_runtime()?);
    ctx.register_udf(ScalarUDF::new_from_impl(NeighbourhoodUdf::new(g, kind, walk.clone())));
    register(&rt, &ctx, "nodes", &nodes_path)?;
    let sql = "SELECT node, get_field(n, 'nbr') AS nbr, get_field(n, 'weight') AS weight \
               FROM (SELECT node, unnest(pinsage_neighbourhood(node)) AS n FROM nodes)";
    let path = dir.join(NEIGHBOURHOODS_FILE);
    let rows = run_stage(&rt, &ctx, "neighbourhoods", sql, &path)?;
    Ok(StageReport {
        stage: "neighbourhoods (walks per partition of start nodes)",
        path,
        rows,
        seconds: t.elapsed().as_secs_f64(),
    })
}
