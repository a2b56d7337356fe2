//! The embedded default graph: a deterministic synthetic pin–board graph with latent topics.
//!
//! Pins belong to topics ("Scandinavian dining", "Mid-century lamps", …) and carry a colour feature
//! (their "visual" embedding, RGB in 0..1) that only partly agrees with the topic: topics come in
//! pairs of look-alike colours, and with probability `1 − colour_informativeness` a pin's colour is
//! random. Boards are curated mostly from one topic, with `noise` of their pins from other topics.
//! So neighbours by colour are often wrong, and neighbours by the graph are right.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::graph::{Categories, Features, Graph};

/// Topic names, their colours (RGB 0..1) and a few nouns for pin titles. Consecutive topics share
/// nearly the same colour, which is what fools a colour-only ("visual") recommender.
const TOPICS: [(&str, [f32; 3], [&str; 4]); 12] = [
    ("Scandinavian dining", [0.90, 0.82, 0.68], ["oak table", "wishbone chair", "linen runner", "pendant"]),
    ("Japandi bedrooms", [0.88, 0.80, 0.66], ["platform bed", "paper lamp", "wool throw", "bench"]),
    ("Mid-century lamps", [0.85, 0.45, 0.15], ["arc lamp", "teak lamp", "globe light", "desk lamp"]),
    ("Boho living rooms", [0.82, 0.42, 0.20], ["rattan chair", "macrame", "kilim rug", "floor cushion"]),
    ("Coastal bathrooms", [0.45, 0.70, 0.85], ["shiplap wall", "rope mirror", "blue tile", "driftwood shelf"]),
    ("Nordic kitchens", [0.47, 0.68, 0.88], ["white cabinet", "subway tile", "copper kettle", "open shelf"]),
    ("Industrial lofts", [0.35, 0.35, 0.38], ["brick wall", "steel stair", "Edison bulb", "concrete floor"]),
    ("Minimalist offices", [0.38, 0.36, 0.36], ["standing desk", "cable tray", "task chair", "monitor arm"]),
    ("Forest cabins", [0.20, 0.50, 0.25], ["log wall", "wood stove", "plaid blanket", "antler hook"]),
    ("Herb gardens", [0.25, 0.55, 0.22], ["basil pot", "raised bed", "trellis", "watering can"]),
    ("Art deco bars", [0.75, 0.20, 0.45], ["brass cart", "velvet stool", "coupe glass", "fan mirror"]),
    ("Vintage cars", [0.72, 0.18, 0.42], ["chrome bumper", "tail fin", "leather seat", "hood ornament"]),
];

/// Parameters of the synthetic generator. `Default` is the embedded default graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyntheticConfig {
    pub seed: u64,
    pub pins: u32,
    pub boards: u32,
    /// Number of latent topics (at most 12 have names; more are numbered).
    pub topics: u32,
    /// Mean pins per board (sizes are uniform in [mean/2, 3·mean/2]).
    pub pins_per_board: u32,
    /// Share of a board's pins drawn from another topic.
    pub noise: f32,
    /// Probability that a pin's colour follows its topic (otherwise it is random).
    pub colour_informativeness: f32,
    /// Share of each board's pins held out as test edges (like the Gowalla split).
    pub test_fraction: f32,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            seed: 7,
            pins: 600,
            boards: 240,
            topics: 12,
            pins_per_board: 14,
            noise: 0.15,
            colour_informativeness: 0.6,
            test_fraction: 0.2,
        }
    }
}

/// The name of topic `t`.
pub fn topic_name(t: u32) -> String {
    match TOPICS.get(t as usize) {
        Some((name, _, _)) => name.to_string(),
        None => format!("Topic {t}"),
    }
}

fn topic_colour(t: u32) -> [f32; 3] {
    match TOPICS.get(t as usize) {
        Some((_, c, _)) => *c,
        // Unnamed topics get a deterministic colour from a golden-ratio hue walk.
        None => {
            use std::f32::consts::TAU;
            let h = (t as f32 * 0.618_034) % 1.0;
            [
                0.5 + 0.4 * (h * TAU).cos(),
                0.5 + 0.4 * (h * TAU + TAU / 3.0).cos(),
                0.5 + 0.4 * (h * TAU + 2.0 * TAU / 3.0).cos(),
            ]
        }
    }
}

/// Generates the graph. Deterministic for a given config; O(edges) time, so it scales to millions.
pub fn generate(cfg: &SyntheticConfig) -> Graph {
    let mut rng = SmallRng::seed_from_u64(cfg.seed);
    let topics = cfg.topics.max(1);
    let n_pins = cfg.pins.max(2);
    let n_boards = cfg.boards.max(1);

    let (topic_of, colour, labels, members) = pins(cfg, &mut rng, topics, n_pins);
    let cumulative = popularity(&members);
    let pick = |rng: &mut SmallRng, t: usize| -> u32 {
        let cum = &cumulative[t];
        let total = *cum.last().unwrap_or(&1.0);
        let x = rng.random::<f32>() * total;
        let i = cum.partition_point(|&c| c < x).min(cum.len() - 1);
        members[t][i]
    };

    let mut train = Vec::new();
    let mut test = Vec::new();
    let mut board_labels = Vec::with_capacity(n_boards as usize);
    let mut board_pins = Vec::new();
    let ppb = cfg.pins_per_board.max(2);
    for b in 0..n_boards {
        let main = rng.random_range(0..topics) as usize;
        let size = rng.random_range(ppb / 2..=ppb + ppb / 2).max(2);
        board_pins.clear();
        let mut attempts = 0;
        while board_pins.len() < size as usize && attempts < size * 20 {
            attempts += 1;
            let t = if rng.random::<f32>() < cfg.noise { rng.random_range(0..topics) as usize } else { main };
            if members[t].is_empty() {
                continue;
            }
            let p = pick(&mut rng, t);
            if !board_pins.contains(&p) {
                board_pins.push(p);
            }
        }
        for (i, &p) in board_pins.iter().enumerate() {
            // Hold out a share of each board's pins, but always keep at least one for training.
            if i > 0 && rng.random::<f32>() < cfg.test_fraction {
                test.push((b, p));
            } else {
                train.push((b, p));
            }
        }
        board_labels.push(format!("board {b}: {}", topic_name(main as u32)));
    }

    let mut g = Graph::from_edges(n_pins, n_boards, &train, &test);
    g.pin_labels = Some(labels);
    g.board_labels = Some(board_labels);
    g.features = Some(Features { dim: 3, data: colour });
    g.categories = Some(Categories { names: (0..topics).map(topic_name).collect(), of_pin: topic_of });
    g.source = if *cfg == SyntheticConfig::default() {
        format!("default (seed {})", cfg.seed)
    } else {
        format!("synthetic (seed {}, {} pins, {} boards)", cfg.seed, n_pins, n_boards)
    };
    g
}

/// The pins, topic round-robin (balanced): each one's topic, colour (RGB) and label, and each
/// topic's members. Draws from `rng` in pin order.
#[allow(clippy::type_complexity)] // (topic, colour, label, members): `generate` destructures it
fn pins(
    cfg: &SyntheticConfig,
    rng: &mut SmallRng,
    topics: u32,
    n_pins: u32,
) -> (Vec<u16>, Vec<f32>, Vec<String>, Vec<Vec<u32>>) {
    let mut topic_of = Vec::with_capacity(n_pins as usize);
    let mut colour = Vec::with_capacity(n_pins as usize * 3);
    let mut labels = Vec::with_capacity(n_pins as usize);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); topics as usize];
    for p in 0..n_pins {
        let t = p % topics;
        topic_of.push(t as u16);
        members[t as usize].push(p);
        let c = if rng.random::<f32>() < cfg.colour_informativeness {
            let base = topic_colour(t);
            base.map(|v| (v + (rng.random::<f32>() - 0.5) * 0.12).clamp(0.0, 1.0))
        } else {
            [rng.random::<f32>(), rng.random::<f32>(), rng.random::<f32>()]
        };
        colour.extend_from_slice(&c);
        let noun = match TOPICS.get(t as usize) {
            Some((_, _, nouns)) => nouns[(p / topics) as usize % 4].to_string(),
            None => "item".to_string(),
        };
        labels.push(format!("{noun} #{p} ({})", topic_name(t)));
    }
    (topic_of, colour, labels, members)
}

/// Popularity within a topic: Zipf-like weights 1/(rank+1)^0.7, as a cumulative table per topic.
fn popularity(members: &[Vec<u32>]) -> Vec<Vec<f32>> {
    members
        .iter()
        .map(|m| {
            let mut acc = 0.0;
            (0..m.len())
                .map(|r| {
                    acc += 1.0 / ((r + 1) as f32).powf(0.7);
                    acc
                })
                .collect()
        })
        .collect()
}
