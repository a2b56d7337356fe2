//! γ, the pooling of neighbour messages, as a DataFusion aggregate (UDAF) over vector columns:
//! `pool_importance(weight, message)` = Σ weight · message, `pool_mean(weight, message)` = the mean
//! over neighbours of positive weight, `pool_max(weight, message)` = the element-wise max over
//! them (messages are ≥ 0 after ReLU, so 0 is the empty max, as in `model::pool`). The partial
//! state is (vector, count), so the aggregate splits across partitions and machines.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float32Type, UInt64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use super::udf::{vector_array, vector_type};
use crate::model::Pooling;

/// The pooling UDAF for one [`Pooling`].
#[derive(Debug, PartialEq, Eq)]
pub struct PoolUdaf {
    pooling: Pooling,
    signature: Signature,
}

impl std::hash::Hash for PoolUdaf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        pool_name(self.pooling).hash(state);
    }
}

/// The SQL name of the pooling aggregate.
pub fn pool_name(pooling: Pooling) -> &'static str {
    match pooling {
        Pooling::Importance => "pool_importance",
        Pooling::Mean => "pool_mean",
        Pooling::Max => "pool_max",
    }
}

/// The three pooling aggregates.
pub fn pool_udafs() -> Vec<AggregateUDF> {
    [Pooling::Importance, Pooling::Mean, Pooling::Max]
        .map(|pooling| {
            AggregateUDF::new_from_impl(PoolUdaf { pooling, signature: Signature::any(2, Volatility::Immutable) })
        })
        .into()
}

fn width(name: &str, t: &DataType) -> Result<usize> {
    match t {
        DataType::FixedSizeList(item, d) if item.data_type() == &DataType::Float32 => Ok(*d as usize),
        other => plan_err!("{name}: the message must be a FixedSizeList<Float32> column, got {other}"),
    }
}

impl AggregateUDFImpl for PoolUdaf {
    fn name(&self) -> &str {
        pool_name(self.pooling)
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [w, m] if w.is_floating() => Ok(vector_type(width(self.name(), m)?)),
            _ => plan_err!("{}: takes (weight float, message vector), got {arg_types:?}", self.name()),
        }
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(format!("{}_vector", args.name), args.return_type().clone(), true)),
            Arc::new(Field::new(format!("{}_count", args.name), DataType::UInt64, true)),
        ])
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let dim = width(self.name(), args.return_field.data_type())?;
        Ok(Box::new(PoolAcc { pooling: self.pooling, acc: vec![0.0; dim], count: 0 }))
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        let dim = width(self.name(), args.return_field.data_type())?;
        Ok(Box::new(PoolGroups { pooling: self.pooling, dim, acc: Vec::new(), count: Vec::new() }))
    }
}

/// Every group's running vector and count in flat arrays: what DataFusion's hash aggregate uses
/// (one accumulator object per group would cost a call per group per batch).
#[derive(Debug)]
struct PoolGroups {
    pooling: Pooling,
    dim: usize,
    acc: Vec<f32>,
    count: Vec<u64>,
}

impl PoolGroups {
    fn grow(&mut self, groups: usize) {
        self.acc.resize(groups * self.dim, 0.0);
        self.count.resize(groups, 0);
    }
    /// Applies `f(group, vector, count)` to every row that the filter keeps.
    fn rows(
        &mut self,
        vectors: &ArrayRef,
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
        weight: impl Fn(usize) -> Option<(f32, u64)>,
    ) -> Result<()> {
        let (values, off) = rows(pool_name(self.pooling), vectors, self.dim)?;
        let dim = self.dim;
        for (i, &g) in group_indices.iter().enumerate() {
            if filter.is_some_and(|f| !f.value(i) || f.is_null(i)) || vectors.is_null(i) {
                continue;
            }
            let Some((w, c)) = weight(i) else { continue };
            let m = &values[(off + i) * dim..(off + i + 1) * dim];
            let a = &mut self.acc[g * dim..(g + 1) * dim];
            match (self.pooling, c) {
                (Pooling::Max, _) => a.iter_mut().zip(m).for_each(|(a, v)| *a = a.max(*v)),
                (Pooling::Importance, 1) if w != 1.0 => a.iter_mut().zip(m).for_each(|(a, v)| *a += w * v),
                _ => a.iter_mut().zip(m).for_each(|(a, v)| *a += v),
            }
            self.count[g] += c;
        }
        Ok(())
    }
    fn take(&mut self, emit_to: EmitTo) -> (Vec<f32>, Vec<u64>) {
        let counts = emit_to.take_needed(&mut self.count);
        let rest = self.acc.split_off(counts.len() * self.dim);
        (std::mem::replace(&mut self.acc, rest), counts)
    }
}

impl GroupsAccumulator for PoolGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let w = datafusion::arrow::compute::cast(&values[0], &DataType::Float32)?;
        let w = w.as_primitive::<Float32Type>().clone();
        let weight = |i: usize| (!w.is_null(i) && w.value(i) > 0.0).then(|| (w.value(i), 1));
        self.rows(&values[1], group_indices, opt_filter, weight)
    }
    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.grow(total_num_groups);
        let counts = values[1].as_primitive::<UInt64Type>().clone();
        // Partial sums are added as they are (weight 1), whatever the pooling.
        self.rows(&values[0], group_indices, None, |i| Some((1.0, counts.value(i))))
    }
    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        // Each row as its own group's partial state.
        let mut one = PoolGroups { pooling: self.pooling, dim: self.dim, acc: Vec::new(), count: Vec::new() };
        let n = values[0].len();
        let groups: Vec<usize> = (0..n).collect();
        one.update_batch(values, &groups, opt_filter, n)?;
        one.state(EmitTo::All)
    }
    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (mut acc, counts) = self.take(emit_to);
        if self.pooling == Pooling::Mean {
            for (row, &c) in acc.chunks_exact_mut(self.dim).zip(&counts) {
                let c = c.max(1) as f32;
                row.iter_mut().for_each(|v| *v /= c);
            }
        }
        Ok(Arc::new(vector_array(acc, self.dim)?))
    }
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (acc, counts) = self.take(emit_to);
        Ok(vec![Arc::new(vector_array(acc, self.dim)?), Arc::new(UInt64Array::from(counts))])
    }
    fn size(&self) -> usize {
        4 * self.acc.capacity() + 8 * self.count.capacity()
    }
}

#[derive(Debug)]
struct PoolAcc {
    pooling: Pooling,
    acc: Vec<f32>,
    count: u64,
}

impl PoolAcc {
    fn add(&mut self, w: f32, m: &[f32]) {
        match self.pooling {
            Pooling::Importance => self.acc.iter_mut().zip(m).for_each(|(a, v)| *a += w * v),
            Pooling::Mean => self.acc.iter_mut().zip(m).for_each(|(a, v)| *a += v),
            Pooling::Max => self.acc.iter_mut().zip(m).for_each(|(a, v)| *a = a.max(*v)),
        }
    }
    fn merge(&mut self, other: &[f32]) {
        match self.pooling {
            Pooling::Importance | Pooling::Mean => self.acc.iter_mut().zip(other).for_each(|(a, v)| *a += v),
            Pooling::Max => self.acc.iter_mut().zip(other).for_each(|(a, v)| *a = a.max(*v)),
        }
    }
    fn vector(&self, values: Vec<f32>) -> Result<ScalarValue> {
        Ok(ScalarValue::FixedSizeList(Arc::new(vector_array(values, self.acc.len())?)))
    }
}

/// Row `i` of a vector column (through the list's offset), or an error naming the problem.
fn rows<'a>(name: &str, a: &'a ArrayRef, dim: usize) -> Result<(&'a [f32], usize)> {
    let Some(list) = a.as_fixed_size_list_opt() else {
        return exec_err!("{name}: expected a vector column, got {}", a.data_type());
    };
    if list.value_length() as usize != dim {
        return exec_err!("{name}: vectors of {} values, expected {dim}", list.value_length());
    }
    let Some(values) = list.values().as_primitive_opt::<Float32Type>() else {
        return exec_err!("{name}: vectors of {}, expected Float32", list.values().data_type());
    };
    Ok((values.values(), list.offset()))
}

impl Accumulator for PoolAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let name = pool_name(self.pooling);
        let w = datafusion::arrow::compute::cast(&values[0], &DataType::Float32)?;
        let w = w.as_primitive::<Float32Type>();
        let dim = self.acc.len();
        let (m, off) = rows(name, &values[1], dim)?;
        for i in 0..w.len() {
            let weight = if w.is_null(i) { 0.0 } else { w.value(i) };
            if weight > 0.0 && !values[1].is_null(i) {
                self.add(weight, &m[(off + i) * dim..(off + i + 1) * dim]);
                self.count += 1;
            }
        }
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let name = pool_name(self.pooling);
        let dim = self.acc.len();
        let (m, off) = rows(name, &states[0], dim)?;
        let counts = states[1].as_primitive::<UInt64Type>();
        for i in 0..counts.len() {
            if !states[0].is_null(i) {
                self.merge(&m[(off + i) * dim..(off + i + 1) * dim]);
                self.count += counts.value(i);
            }
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.vector(self.acc.clone())?, ScalarValue::UInt64(Some(self.count))])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut out = self.acc.clone();
        if self.pooling == Pooling::Mean && self.count > 0 {
            let c = self.count as f32;
            out.iter_mut().for_each(|v| *v /= c);
        }
        self.vector(out)
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + 4 * self.acc.capacity()
    }
}
