//! The trained PinSage weights as plain f32 matrices, and the model's dense steps on single rows
//! (input, message, combine, head): what the engine's UDFs run inside DataFusion's threads, with
//! no Burn device there. Saved as `weights.safetensors` (with the pooling and the skip flag in its
//! metadata) so that executors on other machines read the same numbers.

use std::collections::HashMap;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

use crate::model::{PinSage, Pooling};

/// File name of the weights inside an engine output folder.
pub const WEIGHTS_FILE: &str = "weights.safetensors";

/// Why the weights could not be read, written or used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct WeightsError {
    pub path: String,
    pub problem: String,
}

/// A dense layer `y = x W + b` with `W` stored `[d_in, d_out]` row-major (Burn's layout).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub d_in: usize,
    pub d_out: usize,
    pub w: Vec<f32>,
    pub b: Option<Vec<f32>>,
}

impl Dense {
    /// `out = x W + b` for one row.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        match &self.b {
            Some(b) => out.copy_from_slice(b),
            None => out.fill(0.0),
        }
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0.0 {
                let row = &self.w[i * self.d_out..(i + 1) * self.d_out];
                for (o, &wij) in out.iter_mut().zip(row) {
                    *o += xi * wij;
                }
            }
        }
    }
}

/// Every weight of a trained PinSage model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelWeights {
    pub pooling: Pooling,
    pub skip: bool,
    pub input_dim: usize,
    pub hidden_dim: usize,
    /// The id embedding `[n_nodes, input_dim]`, when the model learns one.
    pub ids: Option<Vec<f32>>,
    pub features: Option<Dense>,
    /// Q and W of the two convolve layers.
    pub layers: Vec<(Dense, Dense)>,
    pub g1: Dense,
    pub g2: Dense,
    pub skip_map: Option<Dense>,
}

type Tensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Collects every float parameter by its path (`layers.0.q.weight`, `g1.bias`, …).
#[derive(Default)]
struct Collect {
    path: Vec<String>,
    tensors: Tensors,
    failed: Option<String>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let name = self.path.join(".");
        let t = param.val();
        let shape = t.dims().to_vec();
        match t.into_data().try_to_vec::<f32>() {
            Ok(v) => {
                self.tensors.insert(name, (shape, v));
            }
            Err(e) => self.failed = Some(format!("reading {name}: {e:?}")),
        }
    }
}

fn err(path: &str, problem: impl Into<String>) -> WeightsError {
    WeightsError { path: path.to_string(), problem: problem.into() }
}

impl ModelWeights {
    /// Reads every weight out of `model` (once, to the host).
    pub fn from_model(model: &PinSage) -> Result<Self, WeightsError> {
        let mut c = Collect::default();
        model.visit(&mut c);
        if let Some(f) = c.failed {
            return Err(err("the model", f));
        }
        Self::from_tensors("the model", c.tensors, model.pooling(), model.skip())
    }

    fn from_tensors(origin: &str, mut t: Tensors, pooling: Pooling, skip: bool) -> Result<Self, WeightsError> {
        let mut dense = |name: &str, required: bool| -> Result<Option<Dense>, WeightsError> {
            let Some((shape, w)) = t.remove(&format!("{name}.weight")) else {
                return if required { Err(err(origin, format!("no tensor `{name}.weight`"))) } else { Ok(None) };
            };
            let [d_in, d_out] = shape[..] else {
                return Err(err(origin, format!("`{name}.weight` has shape {shape:?}, not 2-D")));
            };
            let b = t.remove(&format!("{name}.bias")).map(|(_, b)| b);
            if w.len() != d_in * d_out || b.as_ref().is_some_and(|b| b.len() != d_out) {
                return Err(err(origin, format!("`{name}` has values that do not fit its shape {shape:?}")));
            }
            Ok(Some(Dense { d_in, d_out, w, b }))
        };
        let need = |d: Option<Dense>| d.expect("required layers are Some");
        let features = dense("features", false)?;
        let layers = vec![
            (need(dense("layers.0.q", true)?), need(dense("layers.0.w", true)?)),
            (need(dense("layers.1.q", true)?), need(dense("layers.1.w", true)?)),
        ];
        let g1 = need(dense("g1", true)?);
        let g2 = need(dense("g2", true)?);
        let skip_map = dense("skip_map", false)?;
        let input_dim = layers[0].0.d_in;
        let hidden_dim = g2.d_out;
        let ids = match t.remove("ids.weight") {
            Some((shape, v)) if shape.len() == 2 && shape[1] == input_dim => Some(v),
            Some((shape, _)) => return Err(err(origin, format!("`ids.weight` has shape {shape:?}"))),
            None => None,
        };
        Ok(Self { pooling, skip, input_dim, hidden_dim, ids, features, layers, g1, g2, skip_map })
    }

    fn tensors(&self) -> Vec<(String, Vec<usize>, &[f32])> {
        let mut out = Vec::new();
        if let Some(f) = &self.features {
            push_dense(&mut out, "features", f);
        }
        for (i, (q, w)) in self.layers.iter().enumerate() {
            push_dense(&mut out, &format!("layers.{i}.q"), q);
            push_dense(&mut out, &format!("layers.{i}.w"), w);
        }
        push_dense(&mut out, "g1", &self.g1);
        push_dense(&mut out, "g2", &self.g2);
        if let Some(s) = &self.skip_map {
            push_dense(&mut out, "skip_map", s);
        }
        if let Some(ids) = &self.ids {
            out.push(("ids.weight".into(), vec![ids.len() / self.input_dim, self.input_dim], &ids[..]));
        }
        out
    }

    /// Writes the weights as safetensors (f32, little-endian), atomically.
    pub fn save(&self, path: &Path) -> Result<(), WeightsError> {
        let shown = path.display().to_string();
        let tensors = self.tensors();
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> =
            tensors.into_iter().map(|(n, s, v)| (n, s, bytemuck::cast_slice(v).to_vec())).collect();
        let views = bytes
            .iter()
            .map(|(n, s, b)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).map(|v| (n.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(&shown, e.to_string()))?;
        let meta = HashMap::from([
            ("pooling".to_string(), self.pooling.to_string()),
            ("skip".to_string(), self.skip.to_string()),
        ]);
        let data = safetensors::serialize(views, Some(meta)).map_err(|e| err(&shown, e.to_string()))?;
        crate::export::atomically(path, |w| std::io::Write::write_all(w, &data)).map_err(|e| err(&shown, e.to_string()))
    }

    /// Reads weights written by [`ModelWeights::save`].
    pub fn load(path: &Path) -> Result<Self, WeightsError> {
        let shown = path.display().to_string();
        let data = std::fs::read(path).map_err(|e| err(&shown, e.to_string()))?;
        let st = safetensors::SafeTensors::deserialize(&data)
            .map_err(|e| err(&shown, format!("not a safetensors file: {e}")))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&data).map_err(|e| err(&shown, e.to_string()))?;
        let info = meta.metadata().clone().unwrap_or_default();
        let pooling = info
            .get("pooling")
            .ok_or_else(|| err(&shown, "no `pooling` in the metadata"))?
            .parse::<Pooling>()
            .map_err(|e| err(&shown, e.to_string()))?;
        let skip = info.get("skip").is_some_and(|s| s == "true");
        let mut t = Tensors::new();
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(err(&shown, format!("`{name}` is {:?}, not f32", view.dtype())));
            }
            let values: Vec<f32> =
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            t.insert(name, (view.shape().to_vec(), values));
        }
        Self::from_tensors(&shown, t, pooling, skip)
    }

    /// h⁰ of `node`: its id embedding plus its projected features (`None`: zeros, as for boards).
    pub fn input(&self, node: u32, features: Option<&[f32]>, out: &mut [f32]) -> Result<(), String> {
        out.fill(0.0);
        if let Some(f) = &self.features {
            let zeros;
            let x = match features {
                Some(x) if x.len() == f.d_in => x,
                Some(x) => return Err(format!("a feature vector of {} values; the model reads {}", x.len(), f.d_in)),
                None => {
                    zeros = vec![0.0; f.d_in];
                    &zeros
                }
            };
            f.forward(x, out);
        }
        if let Some(ids) = &self.ids {
            let s = node as usize * self.input_dim;
            let row = ids
                .get(s..s + self.input_dim)
                .ok_or_else(|| format!("node {node} is beyond the model's {} nodes", ids.len() / self.input_dim))?;
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        Ok(())
    }

    /// A neighbour's message in layer `layer`: ReLU(Q h + q).
    pub fn message(&self, layer: usize, h: &[f32], out: &mut [f32]) {
        self.layers[layer].0.forward(h, out);
        relu(out);
    }

    /// The new representation in layer `layer`: ReLU(W [own ‖ pooled] + w), L2-normalised.
    pub fn combine(&self, layer: usize, own: &[f32], pooled: &[f32], out: &mut [f32]) {
        let mut cat = Vec::with_capacity(own.len() + pooled.len());
        cat.extend_from_slice(own);
        cat.extend_from_slice(pooled);
        self.layers[layer].1.forward(&cat, out);
        relu(out);
        l2_normalise(out);
    }

    /// The head: G₂ ReLU(G₁ z + g₁) + g₂ (+ the node's own h⁰ with skip), L2-normalised.
    pub fn head(&self, z: &[f32], h0: &[f32], out: &mut [f32]) {
        let mut mid = vec![0.0; self.g1.d_out];
        self.g1.forward(z, &mut mid);
        relu(&mut mid);
        self.g2.forward(&mid, out);
        if self.skip {
            let mut own = vec![0.0; out.len()];
            match &self.skip_map {
                Some(m) => m.forward(h0, &mut own),
                None => own.copy_from_slice(h0),
            }
            for (o, v) in out.iter_mut().zip(&own) {
                *o += v;
            }
        }
        l2_normalise(out);
    }
}

type Named<'a> = Vec<(String, Vec<usize>, &'a [f32])>;

fn push_dense<'a>(out: &mut Named<'a>, name: &str, d: &'a Dense) {
    out.push((format!("{name}.weight"), vec![d.d_in, d.d_out], &d.w[..]));
    if let Some(b) = &d.b {
        out.push((format!("{name}.bias"), vec![d.d_out], &b[..]));
    }
}

fn relu(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}

/// Divides by the L2 norm (at least 1e-12, as `model::l2_normalise`).
pub fn l2_normalise(x: &mut [f32]) {
    let norm = x.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    for v in x {
        *v /= norm;
    }
}
