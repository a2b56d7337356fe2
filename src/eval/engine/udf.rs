//! The model's dense steps as DataFusion scalar UDFs over Arrow batches of vectors
//! (`FixedSizeList<Float32>` columns): `pinsage_input`, `pinsage_message`, `pinsage_combine`,
//! `pinsage_head`. Each takes the weights file's path and the output width as literal
//! arguments, so the functions are the same in every process (a Ballista executor registers them
//! once, whatever the run) and only the executors read the weights (cached per path).
//!
//! SQL forms (`dim` is the output width):
//! `pinsage_input(node [, features], 'weights', dim)`, `pinsage_message(h, 'weights', layer, dim)`,
//! `pinsage_combine(own, pooled, 'weights', layer, dim)`, `pinsage_head(z, h0, 'weights', dim)`;
//! `layer` counts from 0 and a null `pooled` (a node without neighbours) reads as zeros.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float32Type, UInt32Type};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::io::FileStamp;
use super::weights::ModelWeights;

/// The Arrow type of a vector column of width `dim`.
pub fn vector_type(dim: usize) -> DataType {
    DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, false)), dim as i32)
}

/// A column of `rows` vectors of width `dim` from row-major values.
pub fn vector_array(values: Vec<f32>, dim: usize) -> Result<FixedSizeListArray> {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    Ok(FixedSizeListArray::try_new(item, dim as i32, Arc::new(Float32Array::from(values)), None)?)
}

/// Which dense step a UDF runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Input,
    Message,
    Combine,
    Head,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Input => "pinsage_input",
            Step::Message => "pinsage_message",
            Step::Combine => "pinsage_combine",
            Step::Head => "pinsage_head",
        }
    }
}

/// One of the model's dense steps as a scalar UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DenseUdf {
    step: Step,
    signature: Signature,
}

impl DenseUdf {
    pub fn new(step: Step) -> Self {
        Self { step, signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

/// The four dense-step UDFs.
pub fn dense_udfs() -> Vec<ScalarUDF> {
    [Step::Input, Step::Message, Step::Combine, Step::Head].map(|s| ScalarUDF::new_from_impl(DenseUdf::new(s))).into()
}

/// The weights at `path`, read once per process and file version (a weights file rewritten in place,
/// a new run into the same folder, is read again by a long-running executor).
pub fn cached_weights(path: &str) -> Result<Arc<ModelWeights>> {
    type Cache = HashMap<PathBuf, (FileStamp, Arc<ModelWeights>)>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = PathBuf::from(path);
    let stamp = FileStamp::of(&key).map_err(|e| DataFusionError::Execution(e.to_string()))?;
    let poisoned = || DataFusionError::Internal("weights cache poisoned".into());
    if let Some((_, w)) = cache.lock().map_err(|_| poisoned())?.get(&key).filter(|(s, _)| *s == stamp) {
        return Ok(w.clone());
    }
    let w = Arc::new(ModelWeights::load(&key).map_err(|e| DataFusionError::Execution(e.to_string()))?);
    cache.lock().map_err(|_| poisoned())?.insert(key, (stamp, w.clone()));
    Ok(w)
}

fn literal_i64(name: &str, what: &str, v: Option<&ScalarValue>) -> Result<i64> {
    match v {
        Some(ScalarValue::Int64(Some(d))) => Ok(*d),
        Some(ScalarValue::Int32(Some(d))) => Ok(i64::from(*d)),
        Some(ScalarValue::UInt32(Some(d))) => Ok(i64::from(*d)),
        Some(ScalarValue::UInt64(Some(d))) => i64::try_from(*d).map_err(|e| DataFusionError::Plan(e.to_string())),
        _ => plan_err!("{name}: the {what} must be an integer literal"),
    }
}

fn literal_str(name: &str, v: &ColumnarValue) -> Result<String> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s))) => Ok(s.clone()),
        _ => exec_err!("{name}: the weights path must be a string literal"),
    }
}

fn literal_arg(name: &str, what: &str, v: &ColumnarValue) -> Result<i64> {
    match v {
        ColumnarValue::Scalar(s) => literal_i64(name, what, Some(s)),
        ColumnarValue::Array(_) => exec_err!("{name}: the {what} must be a literal"),
    }
}

/// Rows of a vector column as (values, width); `None` rows are nulls.
struct Vectors {
    list: FixedSizeListArray,
    values: Float32Array,
    dim: usize,
}

impl Vectors {
    fn new(name: &str, what: &str, a: &ArrayRef) -> Result<Self> {
        let Some(list) = a.as_fixed_size_list_opt() else {
            return exec_err!("{name}: the {what} must be a FixedSizeList<Float32> column, got {}", a.data_type());
        };
        let dim = list.value_length() as usize;
        let Some(values) = list.values().as_primitive_opt::<Float32Type>() else {
            return exec_err!("{name}: the {what} must hold Float32 values, got {}", list.values().data_type());
        };
        // A sliced list keeps its parent's values; index through the offset.
        Ok(Self { list: list.clone(), values: values.clone(), dim })
    }
    fn row(&self, i: usize) -> Option<&[f32]> {
        if self.list.is_null(i) {
            return None;
        }
        let s = (self.list.offset() + i) * self.dim;
        Some(&self.values.values()[s..s + self.dim])
    }
}

impl ScalarUDFImpl for DenseUdf {
    fn name(&self) -> &str {
        self.step.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("{}: the width comes from its last (literal) argument", self.name())
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let Some(last) = args.scalar_arguments.last() else {
            return plan_err!("{}: no arguments", self.name());
        };
        let dim = literal_i64(self.name(), "width (last argument)", *last)?;
        if dim <= 0 {
            return plan_err!("{}: width {dim}", self.name());
        }
        Ok(Arc::new(Field::new(self.name(), vector_type(dim as usize), false)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let n = args.number_rows;
        let a = &args.args;
        let (data_args, tail) = match (self.step, a.len()) {
            (Step::Input, 3 | 4) | (Step::Head, 4) => a.split_at(a.len() - 2),
            (Step::Message, 4) | (Step::Combine, 5) => a.split_at(a.len() - 3),
            _ => return exec_err!("{name}: {} arguments is not a form of this function", a.len()),
        };
        let weights = cached_weights(&literal_str(name, &tail[0])?)?;
        let layer = if tail.len() == 3 { literal_arg(name, "layer", &tail[1])? as usize } else { 0 };
        let dim = literal_arg(name, "width", &tail[tail.len() - 1])?;
        let Some(dim) = usize::try_from(dim).ok().filter(|d| (1..=1 << 16).contains(d)) else {
            return exec_err!("{name}: width {dim}");
        };
        if layer > 1 {
            return exec_err!("{name}: layer {layer}; the model has layers 0 and 1");
        }
        let arrays: Vec<ArrayRef> = data_args.iter().map(|c| c.to_array(n)).collect::<Result<_>>()?;
        let mut out = vec![0f32; n * dim];
        match self.step {
            Step::Input => run_input(&weights, &arrays, &mut out, dim)?,
            Step::Message => {
                let h = Vectors::new(name, "vector", &arrays[0])?;
                check_width(name, "input", h.dim, weights.layers[layer].0.d_in, dim, weights.hidden_dim)?;
                for (i, o) in out.chunks_exact_mut(dim).enumerate() {
                    let row = h.row(i).ok_or_else(|| null_err(name, i))?;
                    weights.message(layer, row, o);
                }
            }
            Step::Combine => run_combine(&weights, layer, &arrays, &mut out, dim)?,
            Step::Head => run_head(&weights, &arrays, &mut out, dim)?,
        }
        Ok(ColumnarValue::Array(Arc::new(vector_array(out, dim)?)))
    }
}

fn null_err(name: &str, row: usize) -> DataFusionError {
    DataFusionError::Execution(format!("{name}: a null vector at row {row}"))
}

fn check_width(name: &str, what: &str, got: usize, want: usize, dim: usize, out: usize) -> Result<()> {
    if got != want {
        return exec_err!("{name}: the {what} vectors have {got} values; the weights read {want}");
    }
    if dim != out {
        return exec_err!("{name}: asked for width {dim}; the weights give {out}");
    }
    Ok(())
}

fn run_input(w: &ModelWeights, arrays: &[ArrayRef], out: &mut [f32], dim: usize) -> Result<()> {
    let name = Step::Input.name();
    let Some(nodes) = arrays[0].as_primitive_opt::<UInt32Type>() else {
        return exec_err!("{name}: `node` must be UInt32, got {}", arrays[0].data_type());
    };
    let feats = arrays.get(1).map(|a| Vectors::new(name, "features", a)).transpose()?;
    check_width(name, "id", w.input_dim, w.input_dim, dim, w.input_dim)?;
    for (i, o) in out.chunks_exact_mut(dim).enumerate() {
        let f = feats.as_ref().and_then(|f| f.row(i));
        w.input(nodes.value(i), f, o).map_err(|e| DataFusionError::Execution(format!("{name}: {e}")))?;
    }
    Ok(())
}

fn run_combine(w: &ModelWeights, layer: usize, arrays: &[ArrayRef], out: &mut [f32], dim: usize) -> Result<()> {
    let name = Step::Combine.name();
    let own = Vectors::new(name, "own vector", &arrays[0])?;
    let pooled = Vectors::new(name, "pooled vector", &arrays[1])?;
    let d_in = w.layers[layer].1.d_in;
    check_width(name, "own + pooled", own.dim + pooled.dim, d_in, dim, w.hidden_dim)?;
    let zeros = vec![0f32; pooled.dim];
    for (i, o) in out.chunks_exact_mut(dim).enumerate() {
        let own_row = own.row(i).ok_or_else(|| null_err(name, i))?;
        w.combine(layer, own_row, pooled.row(i).unwrap_or(&zeros), o);
    }
    Ok(())
}

fn run_head(w: &ModelWeights, arrays: &[ArrayRef], out: &mut [f32], dim: usize) -> Result<()> {
    let name = Step::Head.name();
    let z = Vectors::new(name, "z", &arrays[0])?;
    let h0 = Vectors::new(name, "h0", &arrays[1])?;
    check_width(name, "z", z.dim, w.g1.d_in, dim, w.hidden_dim)?;
    let own_width = w.skip_map.as_ref().map_or(w.hidden_dim, |m| m.d_in);
    if w.skip && h0.dim != own_width {
        return exec_err!("{name}: h0 has {} values; the skip path reads {own_width}", h0.dim);
    }
    for (i, o) in out.chunks_exact_mut(dim).enumerate() {
        let zr = z.row(i).ok_or_else(|| null_err(name, i))?;
        let hr = h0.row(i).ok_or_else(|| null_err(name, i))?;
        w.head(zr, hr, o);
    }
    Ok(())
}
