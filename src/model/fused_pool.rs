//! Importance pooling as one GPU kernel each way: `n_i = Σ_j α_ij · m[nbr_ij]` reads the messages
//! in place (no `[t·k, d]` gathered copy), and its gradient scatters `α_ij · ∂n_i` straight into
//! the messages' gradient with float atomics (no copy, no separate multiply).
//!
//! Composed from Burn ops the same pooling is a gather, a broadcast multiply and a sum forward,
//! and a sum's expand, a multiply, a zero fill and a scatter backward: seven launches and two
//! `[t·k, d]` temporaries per layer (on Gowalla's default batch, 0.5 GB each). This module is a
//! Burn backend extension (`#[backend_extension]`): kernels for the cubecl backend (wgpu, CUDA …),
//! lazily recorded under Burn's fusion, with a hand-written backward for autodiff. Other backends
//! (Flex on the CPU) take the composed path in [`weighted_gather`], which is also the reference
//! the kernels are tested against.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::{FloatTensorOps, IntTensorOps};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{AutodiffBackend, Backend, Dispatch, DispatchDevice, TensorMetadata, backend_extension};
use burn::prelude::*;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::features::AtomicUsage;
use cubecl::ir::{ElemType, Type};
use cubecl::{CubeCount, CubeDim, calculate_cube_count_elemwise};

use kernels::{weighted_gather_kernel, weighted_scatter_kernel};

use super::gather_rows;

/// The two kernels as a backend extension: Burn routes each call to the tensor's backend.
#[backend_extension(Cube: cfg(all()), Autodiff, Fusion: cfg(all()))]
pub trait WeightedGatherOps: Backend {
    /// `out[i] = Σ_j weights[i, j] · x[nbr[i·k + j]]`.
    ///
    /// # Shapes
    /// `x: [n, d]`, `nbr: [t·k]`, `weights: [t, k]` → `[t, d]`
    #[fusion(dtype = x, shape = burn::tensor::Shape::new([weights[0], x[1]]))]
    fn weighted_gather(x: FloatTensor<Self>, nbr: IntTensor<Self>, weights: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The transpose: `out = 0; out[nbr[i·k + j]] += weights[i, j] · grad[i]`.
    ///
    /// # Shapes
    /// `grad: [t, d]`, `nbr: [t·k]`, `weights: [t, k]` → `[n_rows, d]`
    #[fusion(dtype = grad, shape = burn::tensor::Shape::new([*n_rows, grad[1]]))]
    fn weighted_scatter(
        grad: FloatTensor<Self>,
        nbr: IntTensor<Self>,
        weights: FloatTensor<Self>,
        n_rows: usize,
    ) -> FloatTensor<Self>;
}

/// Importance pooling of `x`'s rows: the kernels on cubecl devices, Burn ops elsewhere.
///
/// # Shapes
/// `x: [n, d]`, `nbr: [t·k]`, `weights: [t, k]` → `[t, d]`
pub fn weighted_gather(x: Tensor<2>, nbr: Tensor<1, Int>, weights: Tensor<2>) -> Tensor<2> {
    if runs_kernels(&x.device()) {
        let out = <Dispatch as WeightedGatherOps>::weighted_gather(
            x.into_dispatch(),
            nbr.into_dispatch(),
            weights.into_dispatch(),
        );
        return Tensor::from_dispatch(out);
    }
    composed_weighted_gather(x, nbr, weights)
}

/// The same pooling from Burn ops (gather, multiply, sum): the reference and the CPU path.
///
/// # Shapes
/// `x: [n, d]`, `nbr: [t·k]`, `weights: [t, k]` → `[t, d]`
pub fn composed_weighted_gather(x: Tensor<2>, nbr: Tensor<1, Int>, weights: Tensor<2>) -> Tensor<2> {
    let [t, k] = weights.dims();
    let d = x.dims()[1];
    let gathered = gather_rows(x, nbr).reshape([t, k, d]);
    (gathered * weights.reshape([t, k, 1])).sum_dim(1).reshape([t, d])
}

/// Whether tensors on `device` run on the cubecl backend (where the kernels live).
pub fn runs_kernels(device: &Device) -> bool {
    matches!(device.clone().inner().as_dispatch(), DispatchDevice::Cube(_))
}

/// The cubecl kernels (their own module: cubecl's prelude shadows Burn's `Tensor`, `Int`, `Float`).
mod kernels {
    use cubecl::prelude::*;

    #[cube(launch)]
    pub fn weighted_gather_kernel<F: Float, I: Int>(
        x: &Tensor<F>,
        nbr: &Tensor<I>,
        weights: &Tensor<F>,
        out: &mut Tensor<F>,
        #[define(F, I)] _dtypes: [ElemType; 2],
    ) {
        // One unit per output value (i, c): consecutive units read consecutive columns of a row.
        let d = out.shape(1);
        let k = weights.shape(1);
        if ABSOLUTE_POS >= out.shape(0) * d {
            terminate!();
        }
        let i = ABSOLUTE_POS / d;
        let c = ABSOLUTE_POS % d;
        let mut acc = F::new(0.0);
        for j in 0..k {
            let w = weights[i * k + j];
            if w != F::new(0.0) {
                let row = usize::cast_from(nbr[i * k + j]);
                acc += w * x[row * d + c];
            }
        }
        out[ABSOLUTE_POS] = acc;
    }

    #[cube(launch)]
    pub fn weighted_scatter_kernel<F: Float, I: Int>(
        grad: &Tensor<F>,
        nbr: &Tensor<I>,
        weights: &Tensor<F>,
        out: &mut Tensor<Atomic<F>>,
        #[define(F, I)] _dtypes: [ElemType; 2],
    ) {
        // One unit per (i, j, c).
        let d = grad.shape(1);
        let k = weights.shape(1);
        if ABSOLUTE_POS >= weights.shape(0) * k * d {
            terminate!();
        }
        let ij = ABSOLUTE_POS / d;
        let c = ABSOLUTE_POS % d;
        let w = weights[ij];
        if w != F::new(0.0) {
            let row = usize::cast_from(nbr[ij]);
            out[row * d + c].fetch_add(w * grad[(ij / k) * d + c]);
        }
    }
}

/// An uninitialised contiguous `[rows, cols]` tensor beside `like`.
pub(super) fn empty_like(like: &CubeTensor, rows: usize, cols: usize) -> CubeTensor {
    let handle = like.client.empty(rows * cols * like.dtype.size());
    CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), Shape::new([rows, cols]), handle, like.dtype)
}

pub(super) fn elemwise_launch(like: &CubeTensor, units: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(&like.client, units);
    (calculate_cube_count_elemwise(&like.client, units, cube_dim), cube_dim)
}

/// The cubecl storage type of a Burn dtype (the kernels' `#[define]` argument).
pub(super) fn storage(dtype: burn::tensor::DType) -> ElemType {
    burn::backend::cubecl::dtype_to_storage_type(dtype)
}

impl WeightedGatherOps for CubeBackend {
    fn weighted_gather(x: CubeTensor, nbr: CubeTensor, weights: CubeTensor) -> CubeTensor {
        let (x, nbr, weights) = (into_contiguous(x), into_contiguous(nbr), into_contiguous(weights));
        let t = weights.shape()[0];
        let d = x.shape()[1];
        let out = empty_like(&x, t, d);
        let (count, dim) = elemwise_launch(&x, t * d);
        let dtypes = [storage(x.dtype), storage(nbr.dtype)];
        weighted_gather_kernel::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_tensor_arg(),
            nbr.into_tensor_arg(),
            weights.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            dtypes,
        );
        out
    }

    fn weighted_scatter(grad: CubeTensor, nbr: CubeTensor, weights: CubeTensor, n_rows: usize) -> CubeTensor {
        let (grad, nbr, weights) = (into_contiguous(grad), into_contiguous(nbr), into_contiguous(weights));
        let [t, k] = [weights.shape()[0], weights.shape()[1]];
        let d = grad.shape()[1];
        let float = burn::tensor::FloatDType::from(grad.dtype);
        let zeros = into_contiguous(Self::float_zeros(Shape::new([n_rows, d]), &grad.device, float));
        let atomics = grad
            .client
            .properties()
            .atomic_type_usage(Type::atomic(burn::backend::cubecl::dtype_to_elem_type(grad.dtype)));
        if !atomics.contains(AtomicUsage::Add) {
            return scatter_without_atomics(grad, nbr, weights, zeros, [t, k, d]);
        }
        let (count, dim) = elemwise_launch(&grad, t * k * d);
        let dtypes = [storage(grad.dtype), storage(nbr.dtype)];
        weighted_scatter_kernel::launch(
            &grad.client.clone(),
            count,
            dim,
            grad.into_tensor_arg(),
            nbr.into_tensor_arg(),
            weights.into_tensor_arg(),
            zeros.clone().into_tensor_arg(),
            dtypes,
        );
        zeros
    }
}

/// The scatter from Burn's own ops, for devices without float atomic adds.
fn scatter_without_atomics(
    grad: CubeTensor,
    nbr: CubeTensor,
    weights: CubeTensor,
    zeros: CubeTensor,
    [t, k, d]: [usize; 3],
) -> CubeTensor {
    type B = CubeBackend;
    let grad = B::float_expand(B::float_reshape(grad, Shape::new([t, 1, d])), Shape::new([t, k, d]));
    let weights = B::float_expand(B::float_reshape(weights, Shape::new([t, k, 1])), Shape::new([t, k, d]));
    let scaled = B::float_reshape(B::float_mul(grad, weights), Shape::new([t * k, d]));
    let rows = B::int_expand(B::int_reshape(nbr, Shape::new([t * k, 1])), Shape::new([t * k, d]));
    B::float_scatter(0, zeros, rows, scaled, burn::backend::tensor::IndexingUpdateOp::Add)
}

/// The backward of [`WeightedGatherOps::weighted_gather`]: the messages' gradient is the scatter.
#[derive(Debug)]
struct WeightedGatherBackward;

impl<B: WeightedGatherOps> Backward<B, 1> for WeightedGatherBackward {
    /// The neighbour rows, the weights and the number of message rows.
    type State = (IntTensor<B>, FloatTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (nbr, weights, n_rows) = ops.state;
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<B>(parent.id, B::weighted_scatter(grad, nbr, weights, n_rows));
        }
    }
}

impl<B: WeightedGatherOps, C: CheckpointStrategy> WeightedGatherOps for Autodiff<B, C> {
    fn weighted_gather(x: FloatTensor<Self>, nbr: IntTensor<Self>, weights: FloatTensor<Self>) -> FloatTensor<Self> {
        // The weights are data (normalised visit counts), never trained: only `x` gets a gradient.
        let weights = weights.into_primitive();
        let n_rows = x.primitive().shape()[0];
        let (x, node) = x.into_parts();
        match WeightedGatherBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = B::weighted_gather(x, nbr.clone(), weights.clone());
                prep.finish((nbr, weights, n_rows), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::weighted_gather(x, nbr, weights)),
        }
    }

    fn weighted_scatter(
        grad: FloatTensor<Self>,
        nbr: IntTensor<Self>,
        weights: FloatTensor<Self>,
        n_rows: usize,
    ) -> FloatTensor<Self> {
        // Only the backward above calls it, on the inner backend; not differentiated itself.
        Self::from_inner(B::weighted_scatter(Self::inner(grad), nbr, Self::inner(weights), n_rows))
    }
}
