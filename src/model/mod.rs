//! The models and what is computed from trained embeddings: PinSage (`pinsage`), LightGCN
//! (`lightgcn`), layer-wise inference over the whole graph (`infer`), nearest-neighbour retrieval
//! (`retrieval`) and labelled recommendations (`recommend`). Knows graphs, walks and the sampler;
//! knows nothing of training loops, evaluation or the UI.

pub mod dense;
pub mod fused_norm;
pub mod fused_pool;
pub mod infer;
pub mod lightgcn;
pub mod losses;
pub mod pack;
pub mod pinsage;
pub mod recommend;
pub mod resident;
pub mod retrieval;

/// The largest tensor a wgpu device can bind (wgpu's `max_storage_buffer_binding_size` cap,
/// 2 GiB − 4 bytes): larger tensors fail at their first kernel.
pub const MAX_GPU_TENSOR_BYTES: u64 = (1 << 31) - 4;

// `crate::model::PinSage` etc.: the PinSage model is this module's main item.
pub use pinsage::*;
