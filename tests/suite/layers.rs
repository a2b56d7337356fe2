//! Layers that are plain computations checked against their reference: the split-K dense layer
//! against Burn's `Linear` (values and gradients), and the graph layout's repulsion by hand.

use burn::nn::LinearConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use pinsage_explorer::model::dense::{MIN_SPLIT_ROWS, ROWS_PER_BLOCK, dense};
use pinsage_explorer::teach::repulsion::repulsion;

fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    (a - b).abs().max().into_scalar()
}

/// Values and all three gradients (input, weight, bias) match `Linear::forward`, for a height
/// that is not a whole number of blocks and one that is, with a bias and without.
#[test]
fn dense_matches_linear_forward_and_its_gradients() {
    let device = Device::flex().autodiff();
    device.seed(7);
    for (n, bias) in [(MIN_SPLIT_ROWS + 37, true), (8 * ROWS_PER_BLOCK, true), (MIN_SPLIT_ROWS + 37, false)] {
        let lin = LinearConfig::new(24, 16).with_bias(bias).init(&device);
        let x0 = Tensor::<2>::random([n, 24], Distribution::Normal(0.0, 1.0), &device);
        // A loss that weights rows differently, so a misplaced row would show.
        let row_weights = Tensor::<2>::random([n, 16], Distribution::Uniform(0.0, 1.0), &device);
        let run = |f: &dyn Fn(Tensor<2>) -> Tensor<2>| {
            let x = x0.clone().detach().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * row_weights.clone()).sum().backward();
            let gx = x.grad(&grads).expect("x grad");
            let gw = lin.weight.val().grad(&grads).expect("weight grad");
            let gb = lin.bias.as_ref().map(|b| b.val().grad(&grads).expect("bias grad"));
            (y.inner(), gx, gw, gb)
        };
        let (y1, gx1, gw1, gb1) = run(&|x| lin.forward(x));
        let (y2, gx2, gw2, gb2) = run(&|x| dense(&lin, x));
        assert_eq!(y2.dims(), [n, 16]);
        assert!(max_abs_diff(y1, y2) < 1e-5);
        assert!(max_abs_diff(gx1, gx2) < 1e-5);
        // Sums over n rows: compare relative to their size.
        let scale: f32 = gw1.clone().abs().max().into_scalar();
        assert!(max_abs_diff(gw1, gw2) < 1e-4 * scale, "weight gradient differs");
        assert_eq!((gb1.is_some(), gb2.is_some()), (bias, bias));
        if let (Some(gb1), Some(gb2)) = (gb1, gb2) {
            let scale_b: f32 = gb1.clone().abs().max().into_scalar();
            assert!(max_abs_diff(gb1.reshape([1, 16]), gb2.reshape([1, 16])) < 1e-4 * scale_b);
        }
    }
}

#[test]
fn dense_leaves_short_inputs_to_linear() {
    let device = Device::flex();
    let lin = LinearConfig::new(3, 2).init(&device);
    let x = Tensor::<2>::ones([5, 3], &device);
    assert!(max_abs_diff(lin.forward(x.clone()), dense(&lin, x)) == 0.0);
}

#[test]
fn two_nodes_push_apart_by_k_squared_over_distance() {
    // Distance 10 along x, k = 30: force magnitude k²/d = 90, opposite directions.
    let d = repulsion(&[[0.0, 0.0], [10.0, 0.0]], 30.0, 60.0);
    assert!((d[0][0] + 90.0).abs() < 1e-3 && d[0][1].abs() < 1e-6);
    assert!((d[1][0] - 90.0).abs() < 1e-3 && d[1][1].abs() < 1e-6);
}

#[test]
fn nodes_beyond_a_cell_do_not_interact() {
    let d = repulsion(&[[0.0, 0.0], [61.0, 0.0], [500.0, 500.0]], 30.0, 60.0);
    assert!(d.iter().all(|v| v[0] == 0.0 && v[1] == 0.0), "{d:?}");
}

#[test]
fn coincident_nodes_separate_deterministically() {
    let a = repulsion(&[[5.0, 5.0], [5.0, 5.0]], 30.0, 60.0);
    assert_eq!(a, repulsion(&[[5.0, 5.0], [5.0, 5.0]], 30.0, 60.0));
    assert!(a[0][0] != 0.0 && a[1][0] != 0.0);
}
