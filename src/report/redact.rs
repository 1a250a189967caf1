//! Redaction (`report --redact`): one pass over the report value before it is rendered, so
//! every format (HTML, Markdown, JSON, CSV, text) and every chart drawn from the value shows
//! the same masked text. Every string that came from the data (tokens, neighbour lists, map
//! labels, document texts, cluster keywords, tokenizer examples, provenance values, load
//! warnings and notes that may quote them) is scanned by [`crate::analysis::privacy`], each
//! finding replaced by its masked form (`j***@e***.com`), and counted per kind and per place.
//! The report's title, the command line and the files' names are the user's own text and are
//! left as they are (the command line must still regenerate the report).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Report;
use crate::analysis::compare::{SideNeighbour, WordDetail};
use crate::analysis::privacy::{self, Kind};

/// What a redacted report masked: counts per kind and per place. Never a value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Redaction {
    /// Redaction was on (the report's provenance says so even when nothing was found).
    pub enabled: bool,
    /// Findings masked in all.
    pub total: u64,
    /// Findings masked per kind, every kind listed (0 when none).
    pub counts: BTreeMap<String, u64>,
    /// Where they were: one entry per place and kind, in report order.
    pub places: Vec<RedactedPlace>,
}

/// Findings of one kind masked in one place of the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RedactedPlace {
    /// "tokens (changed words)", "neighbour lists", "map labels", "cluster keywords", ...
    pub place: String,
    pub kind: String,
    pub count: u64,
}

/// Masks strings and counts what it masked, per place.
struct Redactor {
    /// (place, kind) -> count, with each place's first appearance for the order.
    counts: BTreeMap<(usize, Kind), u64>,
    places: Vec<&'static str>,
}

impl Redactor {
    fn place_index(&mut self, place: &'static str) -> usize {
        match self.places.iter().position(|p| *p == place) {
            Some(i) => i,
            None => {
                self.places.push(place);
                self.places.len() - 1
            }
        }
    }

    fn text(&mut self, place: &'static str, s: &mut String) {
        let mut kinds: Vec<Kind> = Vec::new();
        let masked = privacy::redact(s, |k| kinds.push(k));
        if kinds.is_empty() {
            return;
        }
        let masked = masked.into_owned();
        *s = masked;
        let p = self.place_index(place);
        for k in kinds {
            *self.counts.entry((p, k)).or_default() += 1;
        }
    }

    fn opt(&mut self, place: &'static str, s: &mut Option<String>) {
        if let Some(s) = s {
            self.text(place, s);
        }
    }

    fn all<'a>(&mut self, place: &'static str, v: impl IntoIterator<Item = &'a mut String>) {
        for s in v {
            self.text(place, s);
        }
    }

    fn neighbours(&mut self, v: &mut [SideNeighbour]) {
        for n in v {
            self.text("neighbour lists", &mut n.token);
            self.opt("neighbour lists (document texts)", &mut n.text);
        }
    }

    fn words(&mut self, v: &mut [WordDetail]) {
        for w in v {
            self.text("tokens (changed words)", &mut w.token);
            self.opt("document texts (changed words)", &mut w.text);
            self.neighbours(&mut w.a);
            self.neighbours(&mut w.b);
        }
    }

    fn finish(self) -> Redaction {
        let mut per_kind: BTreeMap<String, u64> = Kind::ALL
            .iter()
            .map(|k| (k.name().to_string(), 0))
            .collect();
        let mut places = Vec::new();
        for (&(p, k), &n) in &self.counts {
            *per_kind.entry(k.name().to_string()).or_default() += n;
            places.push(RedactedPlace {
                place: self.places[p].to_string(),
                kind: k.name().to_string(),
                count: n,
            });
        }
        Redaction {
            enabled: true,
            total: self.counts.values().sum(),
            counts: per_kind,
            places,
        }
    }
}

/// Masks every finding in the data's text in `r` (in place), records what it masked in
/// `r.redaction`, and returns it.
pub fn redact(r: &mut Report) -> Redaction {
    let mut x = Redactor {
        counts: BTreeMap::new(),
        places: Vec::new(),
    };
    if let Some(ds) = &mut r.datasets {
        for d in ds {
            x.all("provenance parameters", d.params.values_mut());
            x.all("encoding records", d.encoding.values_mut());
            x.all("load warnings", d.warnings.iter_mut());
        }
    }
    if let Some(ints) = &mut r.integrity {
        for i in ints {
            let e = &mut i.report.examples;
            x.all("tokens (integrity examples)", e.nan.iter_mut());
            x.all("tokens (integrity examples)", e.inf.iter_mut());
            x.all("tokens (integrity examples)", e.zero.iter_mut());
            x.all("tokens (integrity examples)", e.invalid_utf8.iter_mut());
            x.all(
                "tokens (integrity examples)",
                e.duplicates.iter_mut().map(|d| &mut d.token),
            );
        }
    }
    for p in &mut r.pairs {
        if let Some(d) = &mut p.provenance {
            x.text("encoding records", &mut d.summary);
            for c in &mut d.differences {
                x.opt("encoding records", &mut c.a);
                x.opt("encoding records", &mut c.b);
            }
        }
        if let Some(v) = &mut p.vocabulary {
            let s = &mut v.summary;
            x.all(
                "tokens (vocabulary examples)",
                s.only_a_examples.iter_mut().map(|t| &mut t.token),
            );
            x.all(
                "tokens (vocabulary examples)",
                s.only_b_examples.iter_mut().map(|t| &mut t.token),
            );
            x.all(
                "tokens (vocabulary examples)",
                s.excluded_examples.iter_mut().map(|t| &mut t.token),
            );
            if let Some(t) = &mut v.tokenizer {
                for w in &mut t.examples {
                    x.text("tokenizer examples", &mut w.word);
                    x.all("tokenizer examples", w.a.iter_mut());
                    x.all("tokenizer examples", w.b.iter_mut());
                }
                x.all("notes", t.notes.iter_mut());
            }
        }
        if let Some(w) = &mut p.words {
            x.words(&mut w.most_changed);
            x.words(&mut w.least_changed);
            x.words(&mut w.most_displaced);
        }
    }
    if let Some(m) = &mut r.maps {
        x.all("map labels", m.labelled.iter_mut().map(|w| &mut w.token));
    }
    if let Some(drift) = &mut r.drift {
        for d in drift {
            for c in &mut d.clusters {
                x.all("cluster keywords", c.keywords.iter_mut());
            }
            if let Some(m) = &mut d.map {
                for l in &mut m.labelled {
                    x.all("map labels (cluster keywords)", l.keywords.iter_mut());
                }
            }
            x.all("notes", d.warnings.iter_mut());
        }
    }
    if let Some(b) = &mut r.bias {
        x.all("notes", b.errors.iter_mut());
    }
    x.all("notes", r.notes.iter_mut());
    let out = x.finish();
    r.redaction = Some(out.clone());
    out
}
