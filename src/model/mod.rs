//! The models and what is computed from trained embeddings: PinSage (`pinsage`), LightGCN
//! (`lightgcn`), layer-wise inference over the whole graph (`infer`), nearest-neighbour retrieval
//! (`retrieval`) and labelled recommendations (`recommend`). Knows graphs, walks and the sampler;
//! knows nothing of training loops, evaluation or the UI.

pub mod dense;
pub mod fused_pool;
pub mod infer;
pub mod lightgcn;
pub mod losses;
pub mod pinsage;
pub mod recommend;
pub mod resident;
pub mod retrieval;

// `crate::model::PinSage` etc.: the PinSage model is this module's main item.
pub use pinsage::*;
