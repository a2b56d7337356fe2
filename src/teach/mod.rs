//! What the teaching views show, computed without egui: per-step explanations of walks, sampling,
//! convolution and pooling (`explain`) and 2-D projections of embeddings (`projection`).

pub mod explain;
pub mod projection;
