//! Recommendations (`pinsage recommend` and the app's search box) against hand-computed lists,
//! and the label lookups behind them.

use pinsage_explorer::eval::Scorer;
use pinsage_explorer::graph::Graph;
use pinsage_explorer::recommend::{Query, find_board, find_boards, find_pin, recommend};

/// Scores every pin by its id (board queries) or by id times the query's (pin queries).
struct ById;

impl Scorer for ById {
    fn board_scores(&self, _board: u32, out: &mut [f32]) {
        for (p, o) in out.iter_mut().enumerate() {
            *o = p as f32;
        }
    }
    fn pin_scores(&self, pin: u32, out: &mut [f32]) {
        for (p, o) in out.iter_mut().enumerate() {
            *o = (p as f32) * (pin as f32 + 1.0);
        }
    }
}

/// Board 0 = {0, 1} (+ test pin 4), board 1 = {0, 2, 3}, validation pin 5 on board 1.
fn graph() -> Graph {
    let mut g = Graph::from_edges(7, 2, &[(0, 0), (0, 1), (1, 0), (1, 2), (1, 3)], &[(0, 4)]);
    g.set_validation(&[(1, 5)]);
    g.board_labels = Some(vec!["user 17".into(), "kitchen ideas".into()]);
    g.pin_labels = Some((0..7).map(|p| format!("lamp {p}")).collect());
    g
}

#[test]
fn board_recommendations_exclude_known_pins_and_keep_test_pins() {
    let g = graph();
    let r = recommend(&g, &ById, Query::Board(1), 20);
    // Known: training {0, 2, 3} and validation {5}; the rest by id, best first.
    assert_eq!(r.excluded, 4);
    assert_eq!(r.items, vec![(6, 6.0), (4, 4.0), (1, 1.0)]);
    assert_eq!(r.title, "kitchen ideas");
    // Board 0's held-out (test) pin 4 is a candidate: that is what the protocol measures.
    let r = recommend(&g, &ById, Query::Board(0), 2);
    assert_eq!(r.items, vec![(6, 6.0), (5, 5.0)]);
    assert_eq!(r.excluded, 2);
    let top: Vec<u32> = recommend(&g, &ById, Query::Board(0), 20).items.iter().map(|x| x.0).collect();
    assert_eq!(top, vec![6, 5, 4, 3, 2]);
}

#[test]
fn pin_recommendations_exclude_the_pin_itself() {
    let g = graph();
    let r = recommend(&g, &ById, Query::Pin(6), 3);
    assert_eq!(r.items, vec![(5, 35.0), (4, 28.0), (3, 21.0)]);
    assert_eq!((r.excluded, r.title.as_str()), (1, "lamp 6"));
    // An id outside the graph: an empty list, no panic.
    assert!(recommend(&g, &ById, Query::Pin(99), 3).items.is_empty());
    assert!(recommend(&g, &ById, Query::Board(2), 3).items.is_empty());
}

#[test]
fn labels_find_boards_and_pins() {
    let g = graph();
    assert_eq!(find_board(&g, "user 17"), Some(0));
    assert_eq!(find_board(&g, "17"), Some(0), "a MovieLens user by its id");
    assert_eq!(find_board(&g, "kitchen ideas"), Some(1));
    assert_eq!(find_board(&g, "1"), None, "labelled boards are not found by number");
    assert_eq!(find_boards(&g, "KITCHEN", 5), vec![1]);
    assert_eq!(find_boards(&g, "e", 5), vec![0, 1], "substring, in board order");
    assert_eq!(find_boards(&g, "e", 1), vec![0]);
    assert!(find_boards(&g, "  ", 5).is_empty());
    assert_eq!(find_pin(&g, "lamp 3"), Some(3));
    assert_eq!(find_pin(&g, "amp 4"), Some(4), "else the first label containing the text");
    let plain = Graph::from_edges(3, 2, &[(0, 0), (1, 2)], &[]);
    assert_eq!(find_board(&plain, "board 1"), Some(1));
    assert_eq!(find_board(&plain, "1"), Some(1));
    assert_eq!(find_board(&plain, "2"), None);
    assert_eq!(find_boards(&plain, "board", 5), vec![0, 1]);
}
