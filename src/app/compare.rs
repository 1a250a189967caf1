//! The compare view's state (egui-free): versions side by side on aligned maps, linked hover and
//! selection, colour by change, ranked lists and per-word neighbours.

use std::sync::Arc;

use hashbrown::HashMap;

use super::colors::{self, Legend};
use super::{AppError, Dataset, MapView};
use crate::analysis::compare::{AlignedLayouts, Comparison, RankBy, WordChange, WordDetail};
use crate::core::ProvenanceDiff;
use crate::engine::jobs::{JobId, MapMethod, TokenizerDiffError};
use crate::model::tokdiff::TokenizerDiff;

/// One version on the compare screen: a data set drawn on the shared aligned frame.
pub struct CompareMap {
    /// Index of the data set in `App::datasets` when the comparison started.
    pub dataset: usize,
    /// A view of that set with the aligned map, change colours and the linked selection.
    pub view: Dataset,
}

pub struct CompareView {
    pub names: Vec<String>,
    pub maps: Vec<CompareMap>,
    pub job: Option<JobId>,
    pub layouts: Option<Arc<AlignedLayouts>>,
    /// Version i compared with version i + 1.
    pub results: Vec<Arc<Comparison>>,
    /// Shared token -> index in `layouts.tokens`.
    index: HashMap<String, usize>,
    /// The current pair's shared words in list order, and what it was ordered by
    /// (pair, rank_by, most, max_rank): sorted again only when one of them changes.
    order: Vec<usize>,
    order_key: Option<(usize, RankBy, bool, Option<usize>)>,
    /// The word selected in every map (linked).
    pub selected: Option<String>,
    /// The word under the pointer in any map (linked).
    pub hovered: Option<String>,
    pub rank_by: RankBy,
    pub most: bool,
    pub max_rank: Option<usize>,
    /// Which pair the lists and the detail show.
    pub pair: usize,
    pub color_by_change: bool,
    pub layout_seconds: Option<f64>,
    pub seconds: Option<f64>,
    /// Per pair: the tokenizer diff when both versions were encoded from the same corpus.
    pub tokenizers: Vec<Option<Result<TokenizerDiff, TokenizerDiffError>>>,
    /// Per pair: what differs between the two versions' encodings (model, pooling, ...).
    pub provenance: Vec<ProvenanceDiff>,
}

impl CompareView {
    pub fn new(versions: &[(usize, &Dataset)], job: JobId) -> CompareView {
        CompareView {
            names: versions.iter().map(|(_, d)| d.name.clone()).collect(),
            maps: versions
                .iter()
                .map(|(i, d)| CompareMap {
                    dataset: *i,
                    view: Dataset::with_scan(d.name.clone(), d.set.clone(), d.scan.clone()),
                })
                .collect(),
            job: Some(job),
            layouts: None,
            results: Vec::new(),
            index: HashMap::new(),
            order: Vec::new(),
            order_key: None,
            selected: None,
            hovered: None,
            rank_by: RankBy::Neighbourhood,
            most: true,
            max_rank: None,
            pair: 0,
            color_by_change: true,
            layout_seconds: None,
            seconds: None,
            tokenizers: Vec::new(),
            provenance: versions
                .windows(2)
                .map(|w| {
                    ProvenanceDiff::of(
                        &w[0].1.name,
                        &w[0].1.set.provenance,
                        &w[1].1.name,
                        &w[1].1.set.provenance,
                    )
                })
                .collect(),
        }
    }

    /// The aligned maps arrived: one map per version.
    pub fn set_layouts(&mut self, layouts: Arc<AlignedLayouts>, seconds: f64) {
        self.index = layouts
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        for (v, m) in self.maps.iter_mut().enumerate() {
            let (Some(rows), Some(coords)) = (layouts.rows.get(v), layouts.coords.get(v)) else {
                continue;
            };
            let rows: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
            let mut map = MapView::new(
                m.view.set.rows(),
                rows,
                coords.clone(),
                MapMethod::AlignedPca,
            );
            map.params =
                "Procrustes-aligned to the first version, its top two principal axes".to_string();
            map.seconds = Some(seconds);
            m.view.map = Some(map);
        }
        self.layouts = Some(layouts);
        self.layout_seconds = Some(seconds);
        self.recolor();
        self.sync_selection();
    }

    pub fn set_results(&mut self, results: Vec<Arc<Comparison>>, seconds: f64) {
        self.results = results;
        self.order_key = None;
        self.seconds = Some(seconds);
        self.pair = self.pair.min(self.results.len().saturating_sub(1));
        self.recolor();
    }

    /// The comparison a version's colours come from: with the previous version, the first
    /// version with the second.
    fn pair_of_version(&self, v: usize) -> usize {
        v.saturating_sub(1)
    }

    /// Colours by neighbourhood change (1 - Jaccard@k) where results exist, else uniform.
    pub fn recolor(&mut self) {
        for v in 0..self.maps.len() {
            let p = self.pair_of_version(v);
            let n = self.maps[v].view.set.rows();
            let (colors, legend) = match (self.color_by_change, self.results.get(p)) {
                (true, Some(c)) => {
                    let k = c.k();
                    let vals: Vec<f32> = (0..n)
                        .map(|r| {
                            c.index_of(self.maps[v].view.set.vocab.token(r))
                                .map_or(f32::NAN, |i| (1.0 - c.word_jaccard[0][i]) as f32)
                        })
                        .collect();
                    let (mut colors, _) = colors::numeric(&vals, "");
                    // A fixed 0..1 scale, so maps of different pairs read the same.
                    for (c, &x) in colors.iter_mut().zip(&vals) {
                        *c = colors::ramp(x);
                    }
                    (
                        colors,
                        Legend::Ramp {
                            label: format!("change: 1 - Jaccard@{k}"),
                            min: 0.0,
                            max: 1.0,
                        },
                    )
                }
                _ => (vec![colors::UNIFORM; n], Legend::None),
            };
            self.maps[v].view.colors = colors;
            self.maps[v].view.legend = legend;
        }
    }

    /// Puts the selected word into every map's selection.
    pub fn sync_selection(&mut self) {
        let key = self.selected.clone();
        for m in &mut self.maps {
            m.view.selection.clear();
            if let Some(t) = &key
                && let Some(r) = row_of(&m.view, t)
            {
                m.view.selection.push(r);
            }
        }
    }

    /// Selects a word (by the token of a row of version `v`).
    pub fn select_row(&mut self, v: usize, row: usize) {
        let token = self.maps.get(v).map(|m| m.view.token(row).to_string());
        self.select(token);
    }

    pub fn select(&mut self, token: Option<String>) {
        self.selected = token;
        self.sync_selection();
    }

    /// Row of the hovered (linked) word in version `v`.
    pub fn hovered_row(&self, v: usize) -> Option<usize> {
        let t = self.hovered.as_ref()?;
        row_of(&self.maps.get(v)?.view, t)
    }

    /// The current pair's shared words in list order (sorted once per choice of order).
    fn order(&mut self) -> &[usize] {
        let key = (self.pair, self.rank_by, self.most, self.max_rank);
        if self.order_key != Some(key) {
            self.order = self
                .results
                .get(self.pair)
                .map(|c| c.ranked(self.rank_by, self.most, self.max_rank))
                .unwrap_or_default();
            self.order_key = Some(key);
        }
        &self.order
    }

    /// The ranked list of the current pair.
    pub fn ranked(&mut self, n: usize) -> Vec<WordChange> {
        let top: Vec<usize> = self.order().iter().take(n).copied().collect();
        let Some(c) = self.results.get(self.pair) else {
            return Vec::new();
        };
        top.into_iter().map(|i| c.word(i)).collect()
    }

    /// Side-by-side neighbours of the selected word in the current pair.
    pub fn detail(&self) -> Option<Result<WordDetail, AppError>> {
        let c = self.results.get(self.pair)?;
        let t = self.selected.as_ref()?;
        Some(c.detail(t, c.k()).map_err(AppError::from))
    }

    /// Dominoes: for the top `n` changed words of the current pair, each word's neighbourhood
    /// on the two versions' aligned maps: (token, [(positions of the word and its neighbours,
    /// shared flags)] per side).
    pub fn dominoes(&mut self, n: usize) -> Vec<Domino> {
        // Enough of the order for `n` dominoes (words missing from the maps are skipped).
        let head: Vec<usize> = self.order().iter().take(n * 4 + 16).copied().collect();
        let (Some(c), Some(l)) = (self.results.get(self.pair), self.layouts.as_ref()) else {
            return Vec::new();
        };
        let k = c.k();
        let sides = [self.pair, self.pair + 1];
        head.into_iter()
            .filter_map(|i| {
                let token = &c.vocab.tokens[i];
                let li = *self.index.get(token)?;
                let (na, nb) = (&c.neighbours_a.of(i)[..k], &c.neighbours_b.of(i)[..k]);
                let panel = |v: usize, own: &[u32], other: &[u32]| -> Option<DominoSide> {
                    let coords = l.coords.get(v)?;
                    let centre = coords[li];
                    let points = own
                        .iter()
                        .filter_map(|&j| {
                            let t = &c.vocab.tokens[j as usize];
                            let p = *self.index.get(t)?;
                            Some((t.clone(), coords[p], other.contains(&j)))
                        })
                        .collect();
                    Some(DominoSide { centre, points })
                };
                Some(Domino {
                    token: token.clone(),
                    jaccard: c.word_jaccard[0][i],
                    sides: [panel(sides[0], na, nb)?, panel(sides[1], nb, na)?],
                })
            })
            .take(n)
            .collect()
    }

    pub fn busy(&self) -> bool {
        self.job.is_some()
    }
}

/// One side of a domino: the word's position and its neighbours' (token, position, also a
/// neighbour in the other version).
#[derive(Debug, Clone)]
pub struct DominoSide {
    pub centre: [f32; 2],
    pub points: Vec<(String, [f32; 2], bool)>,
}

#[derive(Debug, Clone)]
pub struct Domino {
    pub token: String,
    pub jaccard: f64,
    pub sides: [DominoSide; 2],
}

fn row_of(d: &Dataset, token: &str) -> Option<usize> {
    d.set.vocab.get(token).or_else(|| {
        // lowercase keys: the first case variant
        d.set.vocab.iter().position(|t| t.to_lowercase() == token)
    })
}
