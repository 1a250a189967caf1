//! Masked forms of findings: enough of the shape to recognise what was found, never the value
//! (`j***@e***.com`, `************1111`, `DE** ...`, `192.*.*.*`).

use std::borrow::Cow;

use super::{Kind, scan};

/// The first character of `s` followed by `***` (or `***` alone for an empty `s`).
fn first(s: &str) -> String {
    match s.chars().next() {
        Some(c) => format!("{c}***"),
        None => "***".to_string(),
    }
}

/// Every ASCII digit replaced by `*` except the last `keep_last`; other characters kept.
fn digits_hidden(s: &str, keep_last: usize) -> String {
    let total = s.bytes().filter(u8::is_ascii_digit).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + keep_last > total { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

fn domain(d: &str) -> String {
    match d.rsplit_once('.') {
        Some((head, tld)) => format!("{}.{tld}", first(head)),
        None => first(d),
    }
}

/// The masked form of `value`, a finding of `kind`.
pub fn mask(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Email => match value.rsplit_once('@') {
            Some((local, d)) => format!("{}@{}", first(local), domain(d)),
            None => "***".to_string(),
        },
        // Separators kept, digits hidden but the last two.
        Kind::Phone => digits_hidden(value, 2),
        // The last four digits, as on a receipt.
        Kind::PaymentCard => digits_hidden(value, 4),
        Kind::UsSsn => digits_hidden(value, 0),
        Kind::Iban => {
            let cc: String = value.chars().take(2).collect();
            let rest: String = value
                .chars()
                .skip(2)
                .map(|c| if c == ' ' { ' ' } else { '*' })
                .collect();
            format!("{cc}{rest}")
        }
        Kind::Ip => {
            if value.contains(':') {
                let head = value.split(':').next().unwrap_or_default();
                format!("{}:***", if head.is_empty() { "" } else { head })
            } else {
                let head = value.split('.').next().unwrap_or_default();
                format!("{head}.*.*.*")
            }
        }
        Kind::UrlCredentials => match value.split_once("://") {
            Some((scheme, rest)) => {
                let host_part = rest.split(['/', '?', '#']).next().unwrap_or_default();
                let host = host_part.rsplit_once('@').map_or(host_part, |(_, h)| h);
                let host = host.split(':').next().unwrap_or_default();
                format!("{scheme}://***@{}/***", domain(host))
            }
            None => "***".to_string(),
        },
        Kind::Secret => {
            // A provider's prefix says what the key is without giving any of it away.
            let prefix_len = value
                .find(['_', '-'])
                .filter(|&p| p <= 11 && value[..p].bytes().all(|b| b.is_ascii_alphabetic()))
                .map_or(0, |p| p + 1);
            if prefix_len > 0 && value.len() > prefix_len + 8 {
                format!("{}***", &value[..prefix_len])
            } else if value.starts_with("-----BEGIN") {
                "-----BEGIN *** PRIVATE KEY-----".to_string()
            } else {
                first(value)
            }
        }
    }
}

/// `text` with every finding replaced by its masked form ([`mask`]); `found` is told the kind
/// of each finding. Borrowed (no copy) when nothing was found.
pub fn redact<'a>(text: &'a str, mut found: impl FnMut(Kind)) -> Cow<'a, str> {
    let findings = scan(text);
    if findings.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &findings {
        // Offsets are character boundaries (every detector anchors on ASCII); a finding that
        // is not is masked whole with its neighbours rather than split.
        let (Some(head), Some(value)) = (text.get(at..f.start), text.get(f.start..f.end)) else {
            continue;
        };
        out.push_str(head);
        out.push_str(&mask(f.kind, value));
        found(f.kind);
        at = f.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Cow::Owned(out)
}
