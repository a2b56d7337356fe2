//! MovieLens `ratings.csv`, with titles, genres and years from `movies.csv` beside it.

use std::path::Path;

use super::edges::{attach_times, parse_time};
use super::*;

/// Loads MovieLens `ratings.csv` (users → boards, movies → pins, ratings ≥ [`MOVIELENS_MIN_RATING`]);
/// with `movies.csv` beside it, titles become labels and genres become features and categories.
pub fn load_movielens(ratings: &Path) -> Result<Graph, LoadError> {
    movielens_with(ratings, &LoadControl::default())
}

pub(super) fn movielens_with(ratings: &Path, ctl: &LoadControl) -> Result<Graph, LoadError> {
    let bytes = read_text_with(ratings, ctl)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| LoadError::line(ratings, 1, format!("malformed header: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(user_col), Some(movie_col), Some(rating_col)) = (col("userId"), col("movieId"), col("rating")) else {
        return Err(LoadError::line(ratings, 1, "header must name userId, movieId and rating"));
    };
    let time_col = col("timestamp");
    let mut users = Interner::default();
    let mut movies = Interner::default();
    let mut pairs = Vec::new();
    let mut times = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(ratings, e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        ctl.line(ratings, line, rec.position().map_or(0, |p| p.byte()), bytes.len())?;
        let field = |i: usize| {
            rec.get(i)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| LoadError::line(ratings, line, format!("missing field {} ({})", i + 1, &headers[i])))
        };
        let (user, movie, rating) = (field(user_col)?, field(movie_col)?, field(rating_col)?);
        let rating: f32 =
            rating.parse().map_err(|_| LoadError::line(ratings, line, format!("rating `{rating}` is not a number")))?;
        if rating >= MOVIELENS_MIN_RATING {
            if let Some(c) = time_col {
                let t = field(c)?;
                times.push(parse_time(t).ok_or_else(|| {
                    LoadError::line(ratings, line, format!("timestamp `{t}` is not a number of seconds"))
                })?);
            }
            pairs.push((users.get(user), movies.get(movie)));
        }
    }
    if pairs.is_empty() {
        return Err(LoadError::file(ratings, format!("no ratings ≥ {MOVIELENS_MIN_RATING}")));
    }
    let n_pins = movies.names.len() as u32;
    check_graph_memory(ratings, n_pins, users.names.len() as u32, pairs.len(), ctl)?;
    ctl.building(ratings, bytes.len(), pairs.len() as u64)?;
    let mut g = Graph::from_edges(n_pins, users.names.len() as u32, &pairs, &[]);
    ctl.check(ratings)?;
    if times.len() == pairs.len() {
        attach_times(&mut g, &pairs, &times);
    }
    g.board_labels = Some(users.names.iter().map(|u| format!("user {u}")).collect());
    let movies_csv = ratings.with_file_name("movies.csv");
    if movies_csv.is_file() {
        attach_movies(&mut g, &movies_csv, &movies)?;
    } else {
        g.pin_labels = Some(movies.names.iter().map(|m| format!("movie {m}")).collect());
    }
    g.source = ratings.display().to_string();
    Ok(g)
}

fn attach_movies(g: &mut Graph, path: &Path, movies: &Interner) -> Result<(), LoadError> {
    let bytes = read_text(path)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
    let n = g.n_pins() as usize;
    let mut titles: Vec<Option<String>> = vec![None; n];
    let mut genres_of: Vec<Vec<u16>> = vec![Vec::new(); n];
    let mut genre_names: Vec<String> = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.len() < 3 {
            return Err(LoadError::line(
                path,
                line,
                format!("expected movieId,title,genres, found {} fields", rec.len()),
            ));
        }
        let Some(&pin) = movies.ids.get(rec[0].trim()) else { continue };
        titles[pin as usize] = Some(rec[1].trim().to_string());
        for genre in rec[2].split('|').map(str::trim).filter(|s| !s.is_empty()) {
            let gi = match genre_names.iter().position(|g| g == genre) {
                Some(i) => i,
                None => {
                    genre_names.push(genre.to_string());
                    genre_names.len() - 1
                }
            };
            genres_of[pin as usize].push(gi as u16);
        }
    }
    g.pin_keys = Some(movies.names.clone());
    g.pin_labels =
        Some(titles.into_iter().zip(&movies.names).map(|(t, id)| t.unwrap_or_else(|| format!("movie {id}"))).collect());
    let titles: Vec<String> = g.pin_labels.clone().unwrap_or_default();
    if !genre_names.is_empty() {
        // Features: genres, the release decade and hashed title words, each group of unit length.
        let genres = genre_names.len();
        let dim = genres + MOVIE_DECADES + MOVIE_TITLE_BUCKETS;
        let mut data = vec![0f32; n * dim];
        let unknown = genre_names.len() as u16;
        let mut of_pin = Vec::with_capacity(n);
        for (p, gs) in genres_of.iter().enumerate() {
            let row = &mut data[p * dim..(p + 1) * dim];
            let w = if gs.is_empty() { 0.0 } else { 1.0 / (gs.len() as f32).sqrt() };
            for &gi in gs {
                row[gi as usize] = w;
            }
            of_pin.push(gs.first().copied().unwrap_or(unknown));
            let title = titles.get(p).map_or("", String::as_str);
            if let Some(year) = title_year(title) {
                row[genres + ((year.clamp(1920, 2029) - 1920) / 10) as usize] = 1.0;
            }
            let words = &mut row[genres + MOVIE_DECADES..];
            let mut count = 0.0f32;
            for word in title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2 && w.parse::<u32>().is_err())
            {
                let h = word
                    .to_lowercase()
                    .bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                words[(h % MOVIE_TITLE_BUCKETS as u64) as usize] += 1.0;
                count += 1.0;
            }
            let norm = words.iter().map(|x| x * x).sum::<f32>().sqrt();
            if count > 0.0 && norm > 0.0 {
                words.iter_mut().for_each(|x| *x /= norm);
            }
        }
        let mut names = genre_names;
        names.push("(unknown)".to_string());
        g.features = Some(Features { dim, data });
        g.categories = Some(Categories { names, of_pin });
    }
    Ok(())
}

/// Release decades as MovieLens features: the 1920s (and before) to the 2020s.
const MOVIE_DECADES: usize = 11;
/// Hashed buckets for the words of MovieLens titles.
const MOVIE_TITLE_BUCKETS: usize = 32;

/// The year in a MovieLens title such as `Heat (1995)`.
fn title_year(title: &str) -> Option<u32> {
    let open = title.trim_end().rfind('(')?;
    let inner = title[open + 1..].trim_end().strip_suffix(')')?;
    inner.trim().parse::<u32>().ok().filter(|y| (1800..=2100).contains(y))
}
