//! The privacy scanner against a labelled test set (Faker values set into public-domain prose,
//! with unlabelled hard negatives: dates, times, order numbers, versions, hashes, UUIDs, ISBNs,
//! prices, Unix times, postcodes) and against Microsoft Presidio's pattern recognizers on the
//! same text (`tests/fixtures/gen/privacy_fixture.py` made both files).
//!
//! A finding and a labelled value match when they are of the same kind and overlap. Precision
//! and recall per kind: >= 0.99 for the checksum-backed kinds (payment cards, IBANs, US SSNs,
//! IPs), >= 0.95 for the others; and recall >= Presidio's for every kind both detect.

use std::collections::BTreeMap;

use embedscope::analysis::privacy::{Kind, scan};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/privacy");

struct Doc {
    text: String,
    gold: Vec<(Kind, usize, usize)>,
}

fn docs() -> Vec<Doc> {
    let raw = std::fs::read_to_string(format!("{DIR}/labelled.jsonl")).expect("labelled.jsonl");
    raw.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            let gold = v["spans"]
                .as_array()
                .expect("spans")
                .iter()
                .map(|s| {
                    (
                        s[0].as_str().expect("kind").parse().expect("a kind"),
                        s[1].as_u64().expect("start") as usize,
                        s[2].as_u64().expect("end") as usize,
                    )
                })
                .collect();
            Doc {
                text: v["text"].as_str().expect("text").to_string(),
                gold,
            }
        })
        .collect()
}

#[derive(Default, Debug, Clone, Copy)]
struct Score {
    gold: usize,
    found_gold: usize,
    predicted: usize,
    right: usize,
}

impl Score {
    fn recall(&self) -> f64 {
        self.found_gold as f64 / self.gold.max(1) as f64
    }
    fn precision(&self) -> f64 {
        if self.predicted == 0 {
            1.0
        } else {
            self.right as f64 / self.predicted as f64
        }
    }
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Scores per kind of predictions `pred[doc]` against the labels.
fn score(docs: &[Doc], pred: &[Vec<(Kind, usize, usize)>]) -> BTreeMap<Kind, Score> {
    let mut out: BTreeMap<Kind, Score> = Kind::ALL.iter().map(|&k| (k, Score::default())).collect();
    for (d, p) in docs.iter().zip(pred) {
        for &(k, s, e) in &d.gold {
            let sc = out.entry(k).or_default();
            sc.gold += 1;
            if p.iter()
                .any(|&(pk, ps, pe)| pk == k && overlaps((s, e), (ps, pe)))
            {
                sc.found_gold += 1;
            }
        }
        for &(k, s, e) in p {
            let sc = out.entry(k).or_default();
            sc.predicted += 1;
            if d.gold
                .iter()
                .any(|&(gk, gs, ge)| gk == k && overlaps((s, e), (gs, ge)))
            {
                sc.right += 1;
            }
        }
    }
    out
}

#[test]
fn precision_and_recall_per_kind_beat_the_bars_and_presidio() {
    let docs = docs();
    assert!(docs.len() > 1000);
    let ours: Vec<Vec<(Kind, usize, usize)>> = docs
        .iter()
        .map(|d| {
            scan(&d.text)
                .into_iter()
                .map(|f| (f.kind, f.start, f.end))
                .collect()
        })
        .collect();
    let raw = std::fs::read_to_string(format!("{DIR}/presidio.json")).expect("presidio.json");
    let pj: Value = serde_json::from_str(&raw).expect("presidio.json is JSON");
    let presidio_kinds: Vec<Kind> = pj["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .map(|k| k.as_str().expect("kind").parse().expect("a kind"))
        .collect();
    let mut theirs = vec![Vec::new(); docs.len()];
    for f in pj["findings"].as_array().expect("findings") {
        let d = f[0].as_u64().expect("doc") as usize;
        let k: Kind = f[1].as_str().expect("kind").parse().expect("a kind");
        theirs[d].push((
            k,
            f[2].as_u64().expect("start") as usize,
            f[3].as_u64().expect("end") as usize,
        ));
    }
    let ours_s = score(&docs, &ours);
    let theirs_s = score(&docs, &theirs);
    let mut failures = Vec::new();
    println!("kind             labelled  precision  recall   presidio recall (precision)");
    for k in Kind::ALL {
        let o = ours_s[&k];
        let t = presidio_kinds.contains(&k).then(|| theirs_s[&k]);
        println!(
            "{:<16} {:>8}  {:>9.4}  {:>6.4}   {}",
            k.name(),
            o.gold,
            o.precision(),
            o.recall(),
            t.map_or("-".to_string(), |t| format!(
                "{:.4} ({:.4})",
                t.recall(),
                t.precision()
            ))
        );
        let bar = if k.checksum_backed() { 0.99 } else { 0.95 };
        if o.gold == 0 {
            failures.push(format!("{k}: no labelled values"));
        }
        if o.precision() < bar || o.recall() < bar {
            failures.push(format!(
                "{k}: precision {:.4}, recall {:.4} (bar {bar})",
                o.precision(),
                o.recall()
            ));
        }
        if let Some(t) = t
            && o.recall() < t.recall()
        {
            failures.push(format!(
                "{k}: recall {:.4} below Presidio's {:.4}",
                o.recall(),
                t.recall()
            ));
        }
    }
    if !failures.is_empty() {
        // The misses and false findings, to see why.
        for (d, p) in docs.iter().zip(&ours) {
            for &(k, s, e) in &d.gold {
                if !p
                    .iter()
                    .any(|&(pk, ps, pe)| pk == k && overlaps((s, e), (ps, pe)))
                {
                    println!("missed {k}: {:?}", &d.text[s..e]);
                }
            }
            for &(k, s, e) in p {
                if !d
                    .gold
                    .iter()
                    .any(|&(gk, gs, ge)| gk == k && overlaps((s, e), (gs, ge)))
                {
                    println!("false {k}: {:?}", &d.text[s..e]);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The prose the values were set into, on its own, holds none (any finding there is false).
#[test]
fn plain_prose_has_no_findings() {
    let docs = docs();
    let mut false_findings = Vec::new();
    for d in &docs {
        // The text before the first labelled value is untouched prose.
        let cut = d.gold.iter().map(|g| g.1).min().unwrap_or(d.text.len());
        let mut cut = cut.min(d.text.len());
        while !d.text.is_char_boundary(cut) {
            cut -= 1;
        }
        let prose = &d.text[..cut];
        for f in scan(prose) {
            false_findings.push(format!("{}: {:?}", f.kind, &prose[f.start..f.end]));
        }
    }
    assert!(false_findings.is_empty(), "{false_findings:#?}");
}
