//! API keys and secrets: tokens with a provider's known prefix, JSON Web Tokens, PEM private key
//! headers, values assigned to a secret-named key (`password=...`, `api_key: ...`), and
//! high-entropy tokens (random-looking mixes of capitals, small letters and digits). Hex strings
//! and UUIDs are passed over (hashes and identifiers, not secrets, unless a secret-named key
//! introduces them).
//!
//! Prefixes and lengths from the providers' documentation of their token formats: AWS IAM
//! unique-ID prefixes, GitHub's token prefixes (2021 format), GitLab personal access tokens,
//! Slack token types, Stripe API keys, Google API keys, OpenAI and Anthropic keys, npm and
//! Hugging Face access tokens, SendGrid keys.

use super::{Finding, Kind, boundary_before};

/// The bytes of a token: letters, digits, `_`, `-`, `+`, `/`.
static TOKEN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+' | b'/');
        b += 1;
    }
    t
};

/// A word-run byte of a token.
#[inline]
fn tok(b: u8) -> bool {
    TOKEN_BYTE[usize::from(b)]
}

/// (prefix, fewest bytes after it, whether only [A-Z0-9] may follow).
const PREFIXES: &[(&[u8], usize, bool)] = &[
    (b"AKIA", 16, true),
    (b"ASIA", 16, true),
    (b"AGPA", 16, true),
    (b"AIDA", 16, true),
    (b"AROA", 16, true),
    (b"ANPA", 16, true),
    (b"ghp_", 36, false),
    (b"gho_", 36, false),
    (b"ghu_", 36, false),
    (b"ghs_", 36, false),
    (b"ghr_", 36, false),
    (b"github_pat_", 60, false),
    (b"glpat-", 20, false),
    (b"xoxb-", 10, false),
    (b"xoxp-", 10, false),
    (b"xoxa-", 10, false),
    (b"xoxr-", 10, false),
    (b"xoxs-", 10, false),
    (b"sk_live_", 16, false),
    (b"sk_test_", 16, false),
    (b"rk_live_", 16, false),
    (b"rk_test_", 16, false),
    (b"whsec_", 16, false),
    (b"AIza", 35, false),
    (b"sk-ant-", 32, false),
    (b"sk-proj-", 32, false),
    (b"sk-", 20, false),
    (b"npm_", 36, false),
    (b"hf_", 30, false),
    (b"SG.", 20, false),
];

/// Keys whose values are secrets (lower case; `-` read as `_`), matched as the end of the key.
const SECRET_KEYS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"pwd",
    b"secret",
    b"token",
    b"api_key",
    b"apikey",
    b"access_key",
    b"secret_key",
    b"private_key",
    b"client_secret",
    b"auth",
];

fn known_prefix(run: &[u8]) -> bool {
    PREFIXES.iter().any(|&(p, min, upper)| {
        run.len() >= p.len() + min
            && run.starts_with(p)
            && (!upper
                || run[p.len()..]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    })
}

/// Shannon entropy of the bytes, in bits per byte.
fn entropy(run: &[u8]) -> f64 {
    let mut counts = [0u32; 128];
    for &b in run {
        counts[usize::from(b & 0x7f)] += 1;
    }
    let n = run.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A random-looking token: 20-512 bytes, capitals, small letters and digits all present, not
/// hex or a UUID, not a path or a word joined by hyphens, and a high entropy.
fn high_entropy(run: &[u8]) -> bool {
    if run.len() < 20 || run.len() > 512 {
        return false;
    }
    let (mut up, mut low, mut dig, mut slash) = (0, 0, 0, 0);
    for &b in run {
        match b {
            b'A'..=b'Z' => up += 1,
            b'a'..=b'z' => low += 1,
            b'0'..=b'9' => dig += 1,
            b'/' => slash += 1,
            _ => {}
        }
    }
    if up < 2 || low < 2 || dig < 1 {
        return false;
    }
    if run.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-') {
        return false;
    }
    if slash > 0 && run[0] == b'/' {
        return false;
    }
    // Base62/base64 random strings of 20+ bytes have entropy near log2(len); words do not.
    let n = run.len() as f64;
    entropy(run) >= (n.log2() * 0.8).min(4.2)
}

/// Whether `key` (a token run) names a secret: it ends with one of [`SECRET_KEYS`].
fn secret_key(key: &[u8]) -> bool {
    if key.len() > 32 || key.len() < 3 {
        return false;
    }
    let mut buf = [0u8; 32];
    for (d, &c) in buf.iter_mut().zip(key) {
        *d = if c == b'-' {
            b'_'
        } else {
            c.to_ascii_lowercase()
        };
    }
    let key = &buf[..key.len()];
    SECRET_KEYS.iter().any(|k| key.ends_with(k))
}

/// After a secret-named key ending at `e`: `= v`, `: v`, `": "v`; the value's span if it looks
/// like a secret (6 or more bytes: letters and digits, or capitals, small letters and symbols).
fn keyed_value(t: &[u8], e: usize) -> Option<(usize, usize)> {
    let mut p = e;
    let mut assign = false;
    while p < t.len() && p - e < 6 && matches!(t[p], b' ' | b'"' | b'\'' | b'=' | b':') {
        assign |= matches!(t[p], b'=' | b':');
        p += 1;
    }
    if !assign {
        return None;
    }
    let s = p;
    while p < t.len()
        && p - s < 512
        && t[p] > b' '
        && t[p] < 0x7f
        && !matches!(t[p], b'"' | b'\'' | b',' | b';')
    {
        p += 1;
    }
    let v = &t[s..p];
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let lower = v.iter().any(u8::is_ascii_lowercase);
    let digits = v.iter().any(u8::is_ascii_digit);
    let symbols = v.iter().any(|b| !b.is_ascii_alphanumeric());
    (v.len() >= 6 && ((digits && (upper || lower)) || (upper && lower && symbols)))
        .then_some((s, p))
}

pub(super) fn find(t: &[u8], out: &mut Vec<Finding>) {
    find_pem(t, out);
    find_keyed(t, out);
    find_tokens(t, out);
}

/// Values of secret-named keys, anchored on `=` and `:`.
fn find_keyed(t: &[u8], out: &mut Vec<Finding>) {
    let mut next = 0;
    for q in memchr::memchr2_iter(b'=', b':', t) {
        if q < next {
            continue;
        }
        // The key: a token run before the sign, past spaces and quotes.
        let mut e = q;
        while e > 0 && q - e < 4 && matches!(t[e - 1], b' ' | b'"' | b'\'') {
            e -= 1;
        }
        let mut s = e;
        while s > 0 && tok(t[s - 1]) && e - s <= 32 {
            s -= 1;
        }
        if e - s < 3 || !secret_key(&t[s..e]) {
            continue;
        }
        if let Some((vs, ve)) = keyed_value(t, e) {
            out.push(Finding {
                kind: Kind::Secret,
                start: vs,
                end: ve,
            });
            next = ve;
        }
    }
}

/// Tokens of 16 bytes or more (known prefixes, JWTs, high entropy). Such a run covers a byte
/// at a position 15 mod 16, so only those bytes are looked at, and the runs through them read.
fn find_tokens(t: &[u8], out: &mut Vec<Finding>) {
    let n = t.len();
    let mut c = 15;
    while c < n {
        if !tok(t[c]) {
            c += 16;
            continue;
        }
        let mut s = c;
        while s > 0 && tok(t[s - 1]) {
            s -= 1;
        }
        let mut e = c + 1;
        while e < n && tok(t[e]) {
            e += 1;
        }
        let end = token_at(t, s, e, out);
        // The first position 15 mod 16 at or after the run's end.
        c = end.max(e) | 15;
    }
}

/// Looks at the token run `s..e`; returns where its finding ends (or `e`).
fn token_at(t: &[u8], s: usize, mut e: usize, out: &mut Vec<Finding>) -> usize {
    let n = t.len();
    if e - s < 16 || !boundary_before(t, s) {
        return e;
    }
    // A JSON Web Token: three base64url parts joined by dots, the first `eyJ` (`{"`).
    if t[s..e].starts_with(b"eyJ") && e < n && t[e] == b'.' {
        let first = e;
        let mut parts = 1;
        while parts < 3 && e + 1 < n && t[e] == b'.' && tok(t[e + 1]) {
            e += 1;
            while e < n && tok(t[e]) {
                e += 1;
            }
            parts += 1;
        }
        if parts == 3 {
            out.push(Finding {
                kind: Kind::Secret,
                start: s,
                end: e,
            });
            return e;
        }
        e = first;
    }
    // Base64 padding.
    let run_end = e;
    while e < n && e - run_end < 2 && t[e] == b'=' {
        e += 1;
    }
    let run = &t[s..e];
    if known_prefix(run) || high_entropy(run) {
        out.push(Finding {
            kind: Kind::Secret,
            start: s,
            end: e,
        });
        return e;
    }
    run_end
}

/// `-----BEGIN ... PRIVATE KEY-----` headers.
fn find_pem(t: &[u8], out: &mut Vec<Finding>) {
    for at in memchr::memmem::find_iter(t, b"-----BEGIN ") {
        let rest = &t[at..t.len().min(at + 64)];
        if let Some(p) = memchr::memmem::find(rest, b"PRIVATE KEY-----") {
            out.push(Finding {
                kind: Kind::Secret,
                start: at,
                end: at + p + 16,
            });
        }
    }
}
