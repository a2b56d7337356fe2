//! EASE^R (Steck 2019): the closed-form linear autoencoder over the board × pin matrix, fitted
//! densely in f32 with faer after a memory check, one λ or the best of a grid.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::matmul::triangular::{BlockStructure, matmul};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::BaselineError;
use crate::eval::Scorer;
use crate::graph::{Csr, Graph};

/// The λ grid to try on a validation split (Steck reports optima from a few hundred to a few
/// thousand on the usual data sets).
pub const EASE_LAMBDAS: &[f32] = &[50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0];

/// Bytes of the dense matrices one EASE fit holds at its peak: two `n_pins × n_pins` f32 matrices
/// (XᵀX + λI, factored in place and later overwritten by P = G⁻¹, plus the triangular inverse
/// buffer that becomes B) and O(n) workspace. [`Ease::fit`] adds the sparse co-occurrence table
/// (≤ 8 bytes per co-occurring pin pair); [`fit_ease_best`] adds one more n² f32 matrix for the best
/// B kept while the other λ are tried.
pub fn ease_bytes(n_pins: usize) -> u64 {
    let n = n_pins as u64;
    n.saturating_mul(n).saturating_mul(2 * 4).saturating_add(n.saturating_mul(64))
}

/// Upper bound on the bytes of the sparse Gram table: pin j co-occurs with at most
/// `min(n, Σ_{b ∋ j} |b|)` pins, each stored as (pin, count) in 8 bytes, plus a Vec header per pin.
fn gram_bound_bytes(g: &Graph) -> u64 {
    let n = g.n_pins() as u64;
    (0..g.n_pins())
        .map(|j| {
            let reach: u64 = g.boards_of(j).iter().map(|&b| g.board_pins().degree(b) as u64).sum();
            reach.min(n) * 8 + 24
        })
        .sum()
}

/// XᵀX, sparse: for each pin the (other pin, co-occurrence count) pairs, diagonal included.
struct Gram {
    rows: Vec<Vec<(u32, u32)>>,
}

impl Gram {
    /// One pin per task: scatter counts over the pin's boards' pins into a per-thread scratch.
    fn new(g: &Graph) -> Gram {
        let n = g.n_pins() as usize;
        let rows = (0..g.n_pins())
            .into_par_iter()
            .map_init(
                || (vec![0u32; n], Vec::<u32>::new()),
                |(count, touched), j| {
                    for &b in g.boards_of(j) {
                        for &i in g.pins_of(b) {
                            let c = &mut count[i as usize];
                            if *c == 0 {
                                touched.push(i);
                            }
                            *c += 1;
                        }
                    }
                    touched.sort_unstable();
                    let row: Vec<(u32, u32)> =
                        touched.iter().map(|&i| (i, std::mem::take(&mut count[i as usize]))).collect();
                    touched.clear();
                    row
                },
            )
            .collect();
        Gram { rows }
    }
}

/// An n × n f32 zero matrix, or [`BaselineError::Alloc`] if the allocator refuses.
fn try_zeros(len: usize) -> Result<Vec<f32>, BaselineError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| BaselineError::Alloc { bytes: (len as u64).saturating_mul(4) })?;
    v.resize(len, 0.0);
    Ok(v)
}

fn check_lambda(lambda: f32) -> Result<(), BaselineError> {
    if lambda.is_finite() && lambda > 0.0 { Ok(()) } else { Err(BaselineError::BadLambda(lambda)) }
}

/// EASE^R (Steck, "Embarrassingly Shallow Autoencoders", WWW 2019), closed form:
/// `G = XᵀX + λI`, `P = G⁻¹`, `B_ij = −P_ij / P_jj` (i ≠ j), `B_jj = 0`.
/// A board scores pin `j` with `Σ_{i ∈ board} B[i][j]`; a query pin `q` with `B[q][j]`.
///
/// Precision: **f32** throughout (faer's Cholesky, triangular inverse and product in f32). The
/// dense matrices are what limits EASE, and f32 halves them (Gowalla's 40,981 pins: 6.7 GB per
/// matrix instead of 13.4 GB) and doubles the GEMM-bound speed. Accuracy is ample for ranking: every
/// eigenvalue of `XᵀX + λI` is at least λ (≥ 50 on the default grid), which bounds the condition
/// number, and the small perturbations of B that f32 rounding leaves do not reorder scores that
/// matter. A non-positive pivot (only possible with a tiny λ) is reported, never ignored.
#[derive(Clone, Debug)]
pub struct Ease {
    n_pins: usize,
    lambda: f32,
    /// Row-major `n × n`: `b[i * n + j] = B_ij`.
    b: Vec<f32>,
    board_pins: Csr,
}

impl Ease {
    /// Fits EASE with regulariser `lambda`, refusing with [`BaselineError::TooLarge`] before any
    /// large allocation when the estimated peak (the sparse co-occurrence table plus
    /// [`ease_bytes`]) exceeds `max_bytes`.
    pub fn fit(g: &Graph, lambda: f32, max_bytes: u64) -> Result<Ease, BaselineError> {
        check_lambda(lambda)?;
        let n = g.n_pins() as usize;
        let need = gram_bound_bytes(g).saturating_add(ease_bytes(n));
        if need > max_bytes {
            return Err(BaselineError::TooLarge { pins: n, need_bytes: need, budget_bytes: max_bytes });
        }
        let gram = Gram::new(g);
        Ease::fit_gram(&gram, g.board_pins(), lambda)
    }

    /// The λ this model was fitted with.
    pub fn lambda(&self) -> f32 {
        self.lambda
    }

    pub fn n_pins(&self) -> usize {
        self.n_pins
    }

    /// Row `i` of B: the weights pin `i` gives every pin (empty for an unknown pin).
    pub fn row(&self, i: u32) -> &[f32] {
        let (i, n) = (i as usize, self.n_pins);
        if i >= n { &[] } else { &self.b[i * n..(i + 1) * n] }
    }

    fn fit_gram(gram: &Gram, board_pins: &Csr, lambda: f32) -> Result<Ease, BaselineError> {
        let n = gram.rows.len();
        let board_pins = board_pins.clone();
        if n == 0 {
            return Ok(Ease { n_pins: 0, lambda, b: Vec::new(), board_pins });
        }
        let par = Par::rayon(0);
        let mut a = regularised_gram(gram, n, lambda)?;
        cholesky(&mut a, n, lambda, par)?;
        let w = precision_over_factor(&mut a, n, par)?;
        let b = weights(&a, w, n, lambda)?;
        Ok(Ease { n_pins: n, lambda, b, board_pins })
    }
}

impl Scorer for Ease {
    fn board_scores(&self, board: u32, out: &mut [f32]) {
        out.fill(0.0);
        if board as usize >= self.board_pins.rows() {
            return;
        }
        for &i in self.board_pins.row(board) {
            for (o, &b) in out.iter_mut().zip(self.row(i)) {
                *o += b;
            }
        }
    }

    fn pin_scores(&self, pin: u32, out: &mut [f32]) {
        out.fill(0.0);
        for (o, &b) in out.iter_mut().zip(self.row(pin)) {
            *o = b;
        }
    }
}

/// Fits EASE for every λ in `lambdas` (the co-occurrence table computed once and reused) and keeps
/// the model `score` rates highest (e.g. validation recall@20; NaN never wins, ties keep the earlier
/// λ). Returns the best model, its λ, and every (λ, score) in the order tried. Peak memory is three
/// n² f32 matrices (the best so far plus one fit's two); the budget check counts them, with the
/// sparse table, before anything large is allocated.
#[allow(clippy::type_complexity)] // (best, its λ, every (λ, score)): the evaluation code destructures it
pub fn fit_ease_best(
    g: &Graph,
    lambdas: &[f32],
    max_bytes: u64,
    mut score: impl FnMut(&Ease) -> f64,
) -> Result<(Ease, f32, Vec<(f32, f64)>), BaselineError> {
    if lambdas.is_empty() {
        return Err(BaselineError::NoLambdas);
    }
    for &l in lambdas {
        check_lambda(l)?;
    }
    let n = g.n_pins() as usize;
    let held = if lambdas.len() > 1 { (n as u64).saturating_mul(n as u64).saturating_mul(4) } else { 0 };
    let need = gram_bound_bytes(g).saturating_add(ease_bytes(n)).saturating_add(held);
    if need > max_bytes {
        return Err(BaselineError::TooLarge { pins: n, need_bytes: need, budget_bytes: max_bytes });
    }
    let gram = Gram::new(g);
    let mut best: Option<(Ease, f64)> = None;
    let mut all = Vec::with_capacity(lambdas.len());
    for &lambda in lambdas {
        let model = Ease::fit_gram(&gram, g.board_pins(), lambda)?;
        let s = score(&model);
        all.push((lambda, s));
        let better = match &best {
            None => true,
            Some((_, b)) => s > *b || (b.is_nan() && !s.is_nan()),
        };
        if better {
            drop(best.take()); // free the old best before keeping the new one
            best = Some((model, s));
        }
    }
    match best {
        Some((model, _)) => {
            let lambda = model.lambda;
            Ok((model, lambda, all))
        }
        None => Err(BaselineError::NoLambdas),
    }
}

/// `A = XᵀX + λI`, dense and column-major (symmetric, so column j is Gram row j).
fn regularised_gram(gram: &Gram, n: usize, lambda: f32) -> Result<Vec<f32>, BaselineError> {
    let mut a = try_zeros(n * n)?;
    a.par_chunks_mut(n).zip(&gram.rows).enumerate().for_each(|(j, (col, row))| {
        for &(i, c) in row {
            col[i as usize] = c as f32;
        }
        col[j] += lambda;
    });
    Ok(a)
}

/// `A = L Lᵀ` in place (lower triangle); a non-positive pivot is an error naming λ.
fn cholesky(a: &mut [f32], n: usize, lambda: f32, par: Par) -> Result<(), BaselineError> {
    let alloc_err = |req: faer::dyn_stack::StackReq| BaselineError::Alloc { bytes: req.size_bytes() as u64 };
    let req = cholesky_in_place_scratch::<f32>(n, par, Default::default());
    let mut mem = MemBuffer::try_new(req).map_err(|_| alloc_err(req))?;
    cholesky_in_place(
        MatMut::from_column_major_slice_mut(a, n, n),
        Default::default(),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|e| match e {
        faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index } => {
            BaselineError::NotPositiveDefinite { lambda, index }
        }
    })?;
    drop(mem);
    Ok(())
}

/// `W = L⁻¹`, then `P = WᵀW` written over the factor (lower triangle of `a`); returns W's buffer.
fn precision_over_factor(a: &mut [f32], n: usize, par: Par) -> Result<Vec<f32>, BaselineError> {
    let mut w = try_zeros(n * n)?;
    invert_lower_triangular(
        MatMut::from_column_major_slice_mut(&mut w, n, n),
        MatRef::from_column_major_slice(a, n, n),
        par,
    );
    {
        let wr = MatRef::from_column_major_slice(&w, n, n);
        matmul(
            MatMut::from_column_major_slice_mut(a, n, n),
            BlockStructure::TriangularLower,
            Accum::Replace,
            wr.transpose(),
            BlockStructure::TriangularUpper,
            wr,
            BlockStructure::TriangularLower,
            1.0f32,
            par,
        );
    }
    Ok(w)
}

/// `B` (row-major) into `w`'s buffer from `P` in `a`'s lower triangle.
fn weights(a: &[f32], mut w: Vec<f32>, n: usize, lambda: f32) -> Result<Vec<f32>, BaselineError> {
    // B (row-major) into W's buffer: B_ij = −P_ij / P_jj, B_ii = 0. The lower triangle of A
    // holds P column-major: P_ij = a[j n + i] for i ≥ j, and P_ij = P_ji = a[i n + j] for j ≥ i.
    let mut inv_diag = Vec::with_capacity(n);
    for j in 0..n {
        let d = a[j * n + j];
        if !(d.is_finite() && d > 0.0) {
            return Err(BaselineError::NotPositiveDefinite { lambda, index: j });
        }
        inv_diag.push(-1.0 / d);
    }
    const ROWS: usize = 64;
    w.par_chunks_mut(ROWS * n).enumerate().for_each(|(blk, rows)| {
        let i0 = blk * ROWS;
        let i1 = i0 + rows.len() / n;
        // Upper part of each row (j ≥ i): contiguous in column i of A.
        for i in i0..i1 {
            let r = &mut rows[(i - i0) * n..(i - i0 + 1) * n];
            r[i..].copy_from_slice(&a[i * n + i..(i + 1) * n]);
        }
        // Lower part (j < i): column j of A, rows i0..i1, read contiguously.
        for j in 0..i1.saturating_sub(1) {
            let start = i0.max(j + 1);
            for (i, &p) in (start..i1).zip(&a[j * n + start..j * n + i1]) {
                rows[(i - i0) * n + j] = p;
            }
        }
        for i in i0..i1 {
            let r = &mut rows[(i - i0) * n..(i - i0 + 1) * n];
            for (x, &s) in r.iter_mut().zip(&inv_diag) {
                *x *= s;
            }
            r[i] = 0.0;
        }
    });
    Ok(w)
}
