//! Personal data and secrets in text (issue 19): e-mail addresses, phone numbers, payment card
//! numbers (Luhn), IBANs (mod-97), IPv4/IPv6 addresses, URLs carrying credentials or tokens, API
//! keys and secrets (known prefixes and high-entropy strings), US social security numbers.
//!
//! Detectors are pure functions over bytes (every anchor is ASCII, so a finding's offsets are
//! character boundaries of the `&str` it came from), one file per family, each a cheap byte
//! prefilter (`memchr` for `@`, `:` and `://`, a table walk over digits and word runs) followed
//! by a structural check and, where the kind has one, a checksum ([`validate`]). No finding
//! crosses a line break, so a text may be cut at `\n` and scanned in parallel
//! ([`scan_parallel`]). Overlapping findings are resolved to the longest (then by [`Kind`]
//! order: a URL's credentials before the e-mail address inside it).

mod email;
mod mask;
mod net;
mod numbers;
mod secret;
pub mod validate;

pub use mask::{mask, redact};

use rayon::prelude::*;
use serde::Serialize;

/// What a finding is. The order is the priority when two findings of equal length overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    UrlCredentials,
    Secret,
    Email,
    PaymentCard,
    Iban,
    UsSsn,
    Ip,
    Phone,
}

impl Kind {
    /// Every kind, in the order of the JSON `counts` object.
    pub const ALL: [Kind; 8] = [
        Kind::Email,
        Kind::Phone,
        Kind::PaymentCard,
        Kind::Iban,
        Kind::Ip,
        Kind::UrlCredentials,
        Kind::Secret,
        Kind::UsSsn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::PaymentCard => "payment_card",
            Kind::Iban => "iban",
            Kind::Ip => "ip",
            Kind::UrlCredentials => "url_credentials",
            Kind::Secret => "secret",
            Kind::UsSsn => "us_ssn",
        }
    }

    /// Position in [`Kind::ALL`] (for per-kind count arrays).
    pub fn index(self) -> usize {
        match self {
            Kind::Email => 0,
            Kind::Phone => 1,
            Kind::PaymentCard => 2,
            Kind::Iban => 3,
            Kind::Ip => 4,
            Kind::UrlCredentials => 5,
            Kind::Secret => 6,
            Kind::UsSsn => 7,
        }
    }

    /// Whether a checksum or numbering rule backs the detection (cards, IBANs, SSNs, IPs).
    pub fn checksum_backed(self) -> bool {
        matches!(
            self,
            Kind::PaymentCard | Kind::Iban | Kind::UsSsn | Kind::Ip
        )
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown kind '{s}'; expected one of: {}",
                    Kind::ALL.map(Kind::name).join(", ")
                )
            })
    }
}

/// One finding: its kind and byte range in the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Finding {
    /// The masked form of the finding's text in `text` (the text it was found in).
    pub fn masked(&self, text: &[u8]) -> String {
        let s = text.get(self.start..self.end).unwrap_or_default();
        mask(self.kind, &String::from_utf8_lossy(s))
    }
}

/// Counts per kind, indexed by [`Kind::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts(pub [u64; 8]);

impl Counts {
    pub fn add(&mut self, k: Kind) {
        self.0[k.index()] += 1;
    }

    pub fn merge(&mut self, o: &Counts) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }

    pub fn get(&self, k: Kind) -> u64 {
        self.0[k.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// Every finding in `text`, sorted by start, without overlaps.
pub fn scan(text: &str) -> Vec<Finding> {
    scan_bytes(text.as_bytes())
}

/// [`scan`] over bytes that need not be UTF-8 (every detector matches ASCII only).
pub fn scan_bytes(text: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    email::find(text, &mut out);
    net::find_urls(text, &mut out);
    net::find_ipv6(text, &mut out);
    numbers::find(text, &mut out);
    secret::find(text, &mut out);
    resolve(out)
}

/// [`scan_bytes`] on a large text cut at line breaks into pieces of about `piece` bytes scanned
/// in parallel; the findings' offsets are into `text`, sorted.
pub fn scan_parallel(text: &[u8], piece: usize) -> Vec<Finding> {
    let piece = piece.max(1 << 12);
    let mut bounds = vec![0usize];
    let mut at = 0;
    while text.len() - at > piece {
        let cut = at + piece;
        match memchr::memchr(b'\n', &text[cut..]) {
            Some(nl) => at = cut + nl + 1,
            None => break,
        }
        bounds.push(at);
    }
    bounds.push(text.len());
    let parts: Vec<Vec<Finding>> = bounds
        .par_windows(2)
        .map(|w| {
            let mut f = scan_bytes(&text[w[0]..w[1]]);
            for x in &mut f {
                x.start += w[0];
                x.end += w[0];
            }
            f
        })
        .collect();
    parts.concat()
}

/// Sorts by start and drops overlaps, keeping the longest finding of each overlapping group
/// (ties: the kind first in [`Kind`]'s order).
fn resolve(mut v: Vec<Finding>) -> Vec<Finding> {
    v.sort_unstable_by_key(|f| (f.start, std::cmp::Reverse(f.end), f.kind));
    let mut out: Vec<Finding> = Vec::with_capacity(v.len());
    for f in v {
        match out.last_mut() {
            Some(last) if f.start < last.end => {
                let (fl, ll) = (f.end - f.start, last.end - last.start);
                if fl > ll || (fl == ll && f.kind < last.kind) {
                    *last = f;
                }
            }
            _ => out.push(f),
        }
    }
    out
}

/// ASCII letter or digit.
#[inline]
fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Whether the byte before `i` does not continue a word (start of text, or not [A-Za-z0-9_]).
#[inline]
fn boundary_before(t: &[u8], i: usize) -> bool {
    i == 0 || !(alnum(t[i - 1]) || t[i - 1] == b'_')
}

/// Whether the byte at `i` does not continue a word.
#[inline]
fn boundary_after(t: &[u8], i: usize) -> bool {
    i >= t.len() || !(alnum(t[i]) || t[i] == b'_')
}

#[cfg(test)]
mod tests;
