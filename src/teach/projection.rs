//! 2-D projections of embeddings for the embedding map: PCA onto the two leading principal
//! components, computed exactly (covariance + cyclic Jacobi eigen-decomposition), deterministic
//! for the same input whatever the thread count.

/// Why a projection could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProjectionError {
    #[error("the data has dimension 0")]
    ZeroDim,
    #[error("{len} values do not make whole rows of dimension {dim}")]
    Ragged { len: usize, dim: usize },
    #[error("need at least 2 rows to project, got {0}")]
    TooFewRows(usize),
    #[error("row {0} holds a value that is not finite")]
    NotFinite(usize),
}

/// Rows projected onto the first two principal components.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Projection {
    /// One (pc1, pc2) point per input row, in input order.
    pub points: Vec<[f32; 2]>,
    /// The two principal axes (unit vectors of the input dimension).
    pub axes: [Vec<f64>; 2],
    /// Share of the total variance each axis explains, in [0, 1].
    pub explained: [f64; 2],
}

/// PCA of `rows` (row-major, `dim` columns) onto its two leading principal components.
///
/// The covariance uses 1/n. Each axis's sign is fixed so that its largest-magnitude component is
/// positive (the first such component on ties), so the same data always gives the same picture.
/// With `dim == 1` the second coordinate is 0.
pub fn pca_2d(rows: &[f32], dim: usize) -> Result<Projection, ProjectionError> {
    if dim == 0 {
        return Err(ProjectionError::ZeroDim);
    }
    if !rows.len().is_multiple_of(dim) {
        return Err(ProjectionError::Ragged { len: rows.len(), dim });
    }
    let n = rows.len() / dim;
    if n < 2 {
        return Err(ProjectionError::TooFewRows(n));
    }
    if let Some(i) = rows.iter().position(|x| !x.is_finite()) {
        return Err(ProjectionError::NotFinite(i / dim));
    }
    let mut mean = vec![0f64; dim];
    for row in rows.chunks_exact(dim) {
        mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x as f64);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    // Upper triangle of the covariance, accumulated row by row (sequential: deterministic).
    let mut cov = vec![0f64; dim * dim];
    let mut centred = vec![0f64; dim];
    for row in rows.chunks_exact(dim) {
        centred.iter_mut().zip(row.iter().zip(&mean)).for_each(|(c, (&x, m))| *c = x as f64 - m);
        for i in 0..dim {
            let ci = centred[i];
            if ci == 0.0 {
                continue;
            }
            let line = &mut cov[i * dim..(i + 1) * dim];
            for j in i..dim {
                line[j] += ci * centred[j];
            }
        }
    }
    for i in 0..dim {
        for j in i..dim {
            let v = cov[i * dim + j] / n as f64;
            cov[i * dim + j] = v;
            cov[j * dim + i] = v;
        }
    }
    let total: f64 = (0..dim).map(|i| cov[i * dim + i]).sum();
    let (values, vectors) = jacobi_eigen(cov, dim);
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let axis = |k: usize| -> Vec<f64> {
        let Some(&c) = order.get(k) else { return vec![0.0; dim] };
        let mut v: Vec<f64> = (0..dim).map(|r| vectors[r * dim + c]).collect();
        let mut best = 0;
        for i in 1..dim {
            if v[i].abs() > v[best].abs() + 1e-9 {
                best = i;
            }
        }
        if v[best] < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        v
    };
    let axes = [axis(0), axis(1)];
    let share = |k: usize| order.get(k).map_or(0.0, |&c| if total > 0.0 { values[c].max(0.0) / total } else { 0.0 });
    let points = rows
        .chunks_exact(dim)
        .map(|row| {
            let mut p = [0f64; 2];
            for (k, a) in axes.iter().enumerate() {
                p[k] = row.iter().zip(&mean).zip(a).map(|((&x, m), w)| (x as f64 - m) * w).sum();
            }
            [p[0] as f32, p[1] as f32]
        })
        .collect();
    Ok(Projection { points, axes, explained: [share(0), share(1)] })
}

/// Eigenvalues and eigenvectors (columns of the returned row-major matrix) of a symmetric matrix,
/// by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off.sqrt() <= 1e-14 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}
