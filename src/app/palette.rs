//! The app's one category palette: category `c` has the same colour in every view (graph, map,
//! legends). Pins coloured "by visual feature" show their feature's RGB instead, which is data, not
//! a category colour.

use eframe::egui::Color32;

/// Colours of categories 0..12 (Okabe–Ito's colour-blind-safe eight, then four more); category
/// `c` takes `CATEGORY[c % 12]`.
pub const CATEGORY: [Color32; 12] = [
    Color32::from_rgb(230, 159, 0),
    Color32::from_rgb(86, 180, 233),
    Color32::from_rgb(0, 158, 115),
    Color32::from_rgb(240, 228, 66),
    Color32::from_rgb(0, 114, 178),
    Color32::from_rgb(213, 94, 0),
    Color32::from_rgb(204, 121, 167),
    Color32::from_rgb(170, 170, 170),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(23, 190, 207),
    Color32::from_rgb(188, 189, 34),
];

/// A pin's colour when the graph has no categories.
pub const NO_CATEGORY: Color32 = Color32::from_rgb(86, 180, 233);

/// The colour of category `c`.
pub fn category_colour(c: usize) -> Color32 {
    CATEGORY[c % CATEGORY.len()]
}
