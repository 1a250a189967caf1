//! E-mail addresses: anchored on `@` (memchr), the local part and the domain read outwards.

use super::{Finding, Kind};

#[inline]
fn local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'')
}

#[inline]
fn domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// The end of a valid domain starting at `s` (labels of letters, digits and inner hyphens, at
/// least two, the last of two or more letters), or None.
pub(super) fn domain_end(t: &[u8], s: usize) -> Option<usize> {
    let mut e = s;
    while e < t.len() && domain_char(t[e]) && e - s < 255 {
        e += 1;
    }
    // A sentence's full stop or a trailing hyphen is not part of the domain.
    while e > s && matches!(t[e - 1], b'.' | b'-') {
        e -= 1;
    }
    let d = &t[s..e];
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in d.split(|&b| b == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            return None;
        }
        labels += 1;
        last = label;
    }
    (labels >= 2 && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)).then_some(e)
}

pub(super) fn find(t: &[u8], out: &mut Vec<Finding>) {
    let mut next = 0;
    for at in memchr::memchr_iter(b'@', t) {
        if at < next || at == 0 {
            continue;
        }
        let mut s = at;
        while s > 0 && local_char(t[s - 1]) && at - s < 64 {
            s -= 1;
        }
        while s < at && matches!(t[s], b'.' | b'\'' | b'-') {
            s += 1;
        }
        if s == at || t[at - 1] == b'.' || (s > 0 && local_char(t[s - 1])) {
            continue;
        }
        // A URL's user name (`ftp://user@host`) is not an address.
        if s >= 3 && &t[s - 3..s] == b"://" {
            continue;
        }
        let Some(e) = domain_end(t, at + 1) else {
            continue;
        };
        // `a@b.c@d` and similar are not one address.
        if e < t.len() && t[e] == b'@' {
            continue;
        }
        out.push(Finding {
            kind: Kind::Email,
            start: s,
            end: e,
        });
        next = e;
    }
}
