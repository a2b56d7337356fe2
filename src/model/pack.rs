//! A batch's host arrays uploaded as one buffer per element type and sliced apart on the device.
//!
//! Why: cubecl's wgpu stream submits its pending kernels before every buffer write (a write goes
//! to the queue, not the encoder, so it must not overtake them). A batch of five separate arrays
//! cost five submits a step on an H200; packed, it costs one (BENCHMARKS.md, issue 15).
//! Each part starts and ends on a [`PART_ALIGN`]-element boundary, so that its slice is a view
//! of the buffer rather than a copy kernel.

use burn::prelude::*;

/// Parts are padded to this many elements: 256 bytes of 4-byte values, the largest storage
/// offset alignment a wgpu device may require.
pub const PART_ALIGN: usize = 64;

/// Where a part lies in its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    start: usize,
    len: usize,
}

/// Host arrays gathered for one upload.
#[derive(Debug, Default)]
pub struct Pack {
    ints: Vec<u32>,
    floats: Vec<f32>,
}

/// A [`Pack`] on its device.
#[derive(Clone, Debug)]
pub struct Packed {
    ints: Option<Tensor<1, Int>>,
    floats: Option<Tensor<1>>,
    device: Device,
}

fn push<T: Copy + Default>(buf: &mut Vec<T>, v: &[T]) -> Part {
    let start = buf.len();
    buf.extend_from_slice(v);
    buf.resize(buf.len().next_multiple_of(PART_ALIGN), T::default());
    Part { start, len: v.len() }
}

impl Pack {
    /// Adds ids (copied).
    pub fn int(&mut self, v: &[u32]) -> Part {
        push(&mut self.ints, v)
    }

    /// Adds values (copied).
    pub fn float(&mut self, v: &[f32]) -> Part {
        push(&mut self.floats, v)
    }

    /// Uploads the ids and the values: one buffer write each (none for an empty one).
    pub fn upload(self, device: &Device) -> Packed {
        let Pack { ints, floats } = self;
        let (ni, nf) = (ints.len(), floats.len());
        Packed {
            ints: (ni > 0).then(|| Tensor::from_data(TensorData::new(ints, [ni]), device)),
            floats: (nf > 0).then(|| Tensor::from_data(TensorData::new(floats, [nf]), device)),
            device: device.clone(),
        }
    }
}

impl Packed {
    /// The ids of `part`, as `[part.len]`.
    pub fn int(&self, part: Part) -> Tensor<1, Int> {
        match &self.ints {
            Some(t) if part.len > 0 => t.clone().narrow(0, part.start, part.len),
            _ => Tensor::empty([0], &self.device),
        }
    }

    /// The values of `part`, shaped `shape` (whose product is `part.len`).
    pub fn float<const D: usize>(&self, part: Part, shape: [usize; D]) -> Tensor<D> {
        debug_assert_eq!(shape.iter().product::<usize>(), part.len, "a packed part's shape");
        match &self.floats {
            Some(t) if part.len > 0 => t.clone().narrow(0, part.start, part.len).reshape(shape),
            _ => Tensor::empty(shape, &self.device),
        }
    }
}
