//! Recommendations from any [`Scorer`]: a board's top pins (its known pins excluded) or a pin's
//! related pins, with the label lookups behind `pinsage recommend` and the app's search box.

use crate::eval::{Scorer, top_k};
use crate::graph::{Graph, Split};

/// What to recommend for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Query {
    /// The pins a board (user) should get next.
    Board(u32),
    /// The pins related to a pin.
    Pin(u32),
}

/// A ranked list of pins for one query.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendations {
    pub query: Query,
    /// The query's label (`board 3`, a user's id, a movie title).
    pub title: String,
    /// How many known pins were left out (a board's training and validation pins, or the pin itself).
    pub excluded: usize,
    /// (pin, score), best first.
    pub items: Vec<(u32, f32)>,
}

/// The top `k` pins for `query` by `scorer`: for a board, every pin it already has outside the
/// test split (training and validation) is excluded; for a pin, the pin itself. Ties go to the
/// smaller id; an id outside the graph gives an empty list.
pub fn recommend(g: &Graph, scorer: &dyn Scorer, query: Query, k: usize) -> Recommendations {
    let mut scores = vec![0f32; g.n_pins() as usize];
    let (title, known) = match query {
        Query::Board(b) if b < g.n_boards() => {
            let mut known = Vec::new();
            g.known_pins_of(b, Split::Test, &mut known);
            scorer.board_scores(b, &mut scores);
            (g.board_label(b), known)
        }
        Query::Pin(p) if p < g.n_pins() => {
            scorer.pin_scores(p, &mut scores);
            (g.pin_label(p), vec![p])
        }
        _ => return Recommendations { query, title: String::new(), excluded: 0, items: Vec::new() },
    };
    for &p in &known {
        scores[p as usize] = f32::NEG_INFINITY;
    }
    let items = top_k(&scores, k.min(scores.len())).into_iter().map(|p| (p, scores[p as usize])).collect();
    Recommendations { query, title, excluded: known.len(), items }
}

/// A board by exact label (`user 7` also as `7`), by `board N`, or by number when boards have no
/// labels.
pub fn find_board(g: &Graph, label: &str) -> Option<u32> {
    let label = label.trim();
    if let Some(labels) = &g.board_labels
        && let Some(i) = labels
            .iter()
            .position(|l| l == label || l.strip_prefix("user ").or(l.strip_prefix("board ")) == Some(label))
    {
        return Some(i as u32);
    }
    let n = label.strip_prefix("board ").unwrap_or(label).parse::<u32>().ok()?;
    (g.board_labels.is_none() && n < g.n_boards()).then_some(n)
}

/// A pin by exact label (or the file's own id), else by the first label that contains the text.
pub fn find_pin(g: &Graph, label: &str) -> Option<u32> {
    let label = label.trim();
    for keys in [&g.pin_keys, &g.pin_labels].into_iter().flatten() {
        if let Some(i) = keys.iter().position(|l| l == label || l.strip_prefix("pin ") == Some(label)) {
            return Some(i as u32);
        }
    }
    g.find_pins(label, 1).first().copied()
}

/// Boards whose label contains `query` (case-insensitive), the exact match ([`find_board`]) first;
/// at most `limit`.
pub fn find_boards(g: &Graph, query: &str, limit: usize) -> Vec<u32> {
    let q = query.trim();
    if q.is_empty() || limit == 0 {
        return Vec::new();
    }
    let mut found: Vec<u32> = find_board(g, q).into_iter().collect();
    let lower = q.to_lowercase();
    for b in 0..g.n_boards() {
        if found.len() >= limit {
            break;
        }
        if !found.contains(&b) && g.board_label(b).to_lowercase().contains(&lower) {
            found.push(b);
        }
    }
    found
}
