//! Row-wise L2 normalisation as one GPU kernel each way: `y = x / max(‖x‖, ε)` forward, and
//! `∂x = (∂y − y (∂y · y)) / ‖x‖` (`∂y / ε` where the norm was clamped) backward.
//!
//! Composed from Burn ops the normalisation is a square, a sum, a square root, a clamp and a
//! division forward (fused by Burn into a few kernels) and about fourteen unfused kernels backward
//! (the division's two sides, the clamp's mask, the root, the sum's expand, the square); PinSage
//! normalises three times a step (both convolves and the head). Same pattern as `fused_pool`: a
//! Burn backend extension with kernels for the cubecl backend and a hand-written backward; other
//! backends take [`composed_l2_normalise`], the reference the kernels are tested against.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend, Dispatch, TensorMetadata, backend_extension};
use burn::prelude::*;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use kernels::{l2_normalise_backward_kernel, l2_normalise_kernel};

use super::fused_pool::{elemwise_launch, empty_like, runs_kernels, storage};

/// The smallest norm divided by (as `x.clamp_min(NORM_EPS)` in the composed form).
pub const NORM_EPS: f32 = 1e-12;

/// The two kernels as a backend extension: Burn routes each call to the tensor's backend.
#[backend_extension(Cube: cfg(all()), Autodiff, Fusion: cfg(all()))]
pub trait L2NormaliseOps: Backend {
    /// `y[i] = x[i] / max(‖x[i]‖, ε)`.
    ///
    /// # Shapes
    /// `x: [n, d]` → `[n, d]`
    #[fusion(dtype = x, shape = burn::tensor::Shape::new([x[0], x[1]]))]
    fn l2_normalise_rows(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The gradient of [`L2NormaliseOps::l2_normalise_rows`] with respect to `x`, given `grad`
    /// with respect to its output.
    ///
    /// # Shapes
    /// `x: [n, d]`, `grad: [n, d]` → `[n, d]`
    #[fusion(dtype = x, shape = burn::tensor::Shape::new([x[0], x[1]]))]
    fn l2_normalise_rows_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Rows divided by their L2 norm (at least [`NORM_EPS`]): the kernels on cubecl devices, Burn ops
/// elsewhere.
///
/// # Shapes
/// `[n, d] -> [n, d]`
pub fn fused_l2_normalise(x: Tensor<2>) -> Tensor<2> {
    if runs_kernels(&x.device()) {
        let out = <Dispatch as L2NormaliseOps>::l2_normalise_rows(x.into_dispatch());
        return Tensor::from_dispatch(out);
    }
    composed_l2_normalise(x)
}

/// The same normalisation from Burn ops: the reference and the CPU path.
///
/// # Shapes
/// `[n, d] -> [n, d]`
pub fn composed_l2_normalise(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(NORM_EPS);
    x / norm
}

/// The cubecl kernels (their own module: cubecl's prelude shadows Burn's `Tensor`, `Float`).
mod kernels {
    use cubecl::prelude::*;

    /// `Σ_c a[base + c] · b[base + c]` over one row of `d` values.
    #[cube]
    fn row_dot<F: Float>(a: &Tensor<F>, b: &Tensor<F>, base: usize, d: usize) -> F {
        let mut acc = F::new(0.0);
        for c in 0..d {
            acc += a[base + c] * b[base + c];
        }
        acc
    }

    /// One unit per row (rows are short: the model's widths are 64).
    #[cube(launch)]
    pub fn l2_normalise_kernel<F: Float>(x: &Tensor<F>, out: &mut Tensor<F>, #[define(F)] _dtype: ElemType) {
        let eps = F::new(crate::model::fused_norm::NORM_EPS);
        let d = x.shape(1);
        if ABSOLUTE_POS >= x.shape(0) {
            terminate!();
        }
        let base = ABSOLUTE_POS * d;
        let norm = F::max(F::sqrt(row_dot(x, x, base, d)), eps);
        for c in 0..d {
            out[base + c] = x[base + c] / norm;
        }
    }

    #[cube(launch)]
    pub fn l2_normalise_backward_kernel<F: Float>(
        x: &Tensor<F>,
        grad: &Tensor<F>,
        out: &mut Tensor<F>,
        #[define(F)] _dtype: ElemType,
    ) {
        let eps = F::new(crate::model::fused_norm::NORM_EPS);
        let d = x.shape(1);
        if ABSOLUTE_POS >= x.shape(0) {
            terminate!();
        }
        let base = ABSOLUTE_POS * d;
        let sq = row_dot(x, x, base, d);
        let gx = row_dot(grad, x, base, d);
        let norm = F::sqrt(sq);
        if norm >= eps {
            // ∂y·y = (∂y·x) / ‖x‖, so ∂x = (∂y − x (∂y·x) / ‖x‖²) / ‖x‖.
            let along = gx / sq;
            for c in 0..d {
                out[base + c] = (grad[base + c] - x[base + c] * along) / norm;
            }
        } else {
            // The norm was clamped to a constant: only the division's own gradient.
            for c in 0..d {
                out[base + c] = grad[base + c] / eps;
            }
        }
    }
}

/// An uninitialised contiguous tensor shaped like `like` (`[rows, d]`), and a launch of one unit
/// per row.
fn out_and_launch(like: &CubeTensor) -> (CubeTensor, cubecl::CubeCount, cubecl::CubeDim) {
    let [rows, d] = [like.shape()[0], like.shape()[1]];
    let (count, dim) = elemwise_launch(like, rows.max(1));
    (empty_like(like, rows, d), count, dim)
}

impl L2NormaliseOps for CubeBackend {
    fn l2_normalise_rows(x: CubeTensor) -> CubeTensor {
        let x = into_contiguous(x);
        let (out, count, dim) = out_and_launch(&x);
        let dtype = storage(x.dtype);
        l2_normalise_kernel::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            dtype,
        );
        out
    }

    fn l2_normalise_rows_backward(x: CubeTensor, grad: CubeTensor) -> CubeTensor {
        let (x, grad) = (into_contiguous(x), into_contiguous(grad));
        let (out, count, dim) = out_and_launch(&x);
        let dtype = storage(x.dtype);
        l2_normalise_backward_kernel::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_tensor_arg(),
            grad.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            dtype,
        );
        out
    }
}

/// The backward of [`L2NormaliseOps::l2_normalise_rows`].
#[derive(Debug)]
struct L2NormaliseBackward;

impl<B: L2NormaliseOps> Backward<B, 1> for L2NormaliseBackward {
    /// The input rows.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<B>(parent.id, B::l2_normalise_rows_backward(ops.state, grad));
        }
    }
}

impl<B: L2NormaliseOps, C: CheckpointStrategy> L2NormaliseOps for Autodiff<B, C> {
    fn l2_normalise_rows(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, node) = x.into_parts();
        match L2NormaliseBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = B::l2_normalise_rows(x.clone());
                prep.finish(x, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::l2_normalise_rows(x)),
        }
    }

    fn l2_normalise_rows_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // Only the backward above calls it, on the inner backend; not differentiated itself.
        Self::from_inner(B::l2_normalise_rows_backward(Self::inner(x), Self::inner(grad)))
    }
}
