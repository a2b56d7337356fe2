//! What the teaching views show, computed without egui: per-step explanations of walks, sampling,
//! convolution and pooling (`explain`), 2-D projections of embeddings (`projection`), the
//! embedding map's PCA / t-SNE / UMAP layouts (`embed_map`) and what-if edits of the graph with a
//! pin's before/after picture (`edits`).

pub mod edits;
pub mod embed_map;
pub mod explain;
pub mod projection;
pub mod repulsion;
