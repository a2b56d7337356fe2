//! Dense layers for tall inputs: `Linear::forward` computed as a batch of row blocks, so that the
//! weight's gradient is many small products summed (split-K) instead of one long one.
//!
//! Why: Burn's `linear` differentiates the weight as one `[d_in, rows] @ [rows, d_out]` product.
//! With rows in the tens of thousands and d_in, d_out = 64, the output has only a handful of tiles,
//! so the cubecl matmul runs on a handful of cores, each looping over every row: on an H200 those
//! six products took 8.6 of the step's 11.2 ms of kernel time (BENCHMARKS.md, issue 15). As a batch
//! of `[ROWS_PER_BLOCK, d_in]` blocks the same gradient is one product per block, all in parallel,
//! then a sum over the blocks.

use burn::nn::Linear;
use burn::prelude::*;

/// Rows per block of the batched form.
pub const ROWS_PER_BLOCK: usize = 256;

/// Inputs with at most this many rows go through `Linear::forward` unchanged.
pub const MIN_SPLIT_ROWS: usize = 4 * ROWS_PER_BLOCK;

/// `lin.forward(x)`, as a batched product over blocks of rows when `x` is tall.
///
/// The rows are padded with zeros to whole blocks; the padding's outputs are dropped before the
/// bias is added, so values and gradients equal `lin.forward(x)`'s up to summation order. (Adding
/// the bias per block as well made the step slower on the H200: 755 µs for one matmul that fusion
/// no longer merged with it.) The padding is a `cat` with zeros: padding with `Tensor::pad`
/// instead made Gowalla epochs about 5× longer on the H200 (BENCHMARKS.md, issue 15, fourth
/// session). The bias's gradient is still one sum over all rows per layer (0.04–0.22 ms each).
///
/// # Shapes
/// `x: [n, d_in]` → `[n, d_out]`
pub fn dense(lin: &Linear, x: Tensor<2>) -> Tensor<2> {
    let [n, d_in] = x.dims();
    if n <= MIN_SPLIT_ROWS {
        return lin.forward(x);
    }
    let blocks = n.div_ceil(ROWS_PER_BLOCK);
    let padded = blocks * ROWS_PER_BLOCK;
    let x = if padded > n {
        let zeros = Tensor::zeros([padded - n, d_in], &x.device());
        Tensor::cat(vec![x, zeros], 0)
    } else {
        x
    };
    let weight = lin.weight.val();
    let d_out = weight.dims()[1];
    let y = x
        .reshape([blocks, ROWS_PER_BLOCK, d_in])
        .matmul(weight.unsqueeze::<3>())
        .reshape([padded, d_out])
        .narrow(0, 0, n);
    match &lin.bias {
        Some(bias) => y + bias.val().unsqueeze::<2>(),
        None => y,
    }
}
