//! SEAT-style probes for sentence encoders (after May et al., 2019): each word of a WEAT test
//! is put into short, semantically bleached sentence frames, the sentences are embedded by the
//! encoder, and WEAT runs on the sentence vectors (every sentence is one item of its set).
//!
//! The frames are embedscope's own. Names (a word starting with an upper-case letter) and other
//! words get different frames, so that "Katie" reads as a person and "rose" as a thing; no
//! frame needs an article, so no grammar guess can go wrong.

use super::sets::{WeatTest, WordSet};

/// Frames for names; `{}` is replaced by the word.
pub const NAME_FRAMES: &[&str] = &[
    "This is {}.",
    "That is {}.",
    "{} is here.",
    "{} is there.",
    "Here is {}.",
    "There is {}.",
    "{} is a person.",
    "The person's name is {}.",
];

/// Frames for other words (terms, concepts, adjectives).
pub const TERM_FRAMES: &[&str] = &[
    "This is {}.",
    "That is {}.",
    "There is {}.",
    "Here is {}.",
    "{} is here.",
    "{} is there.",
    "It is {}.",
    "It is about {}.",
];

fn is_name(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

fn capitalise_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The sentences for one word, in frame order.
pub fn sentences(word: &str) -> Vec<String> {
    let frames = if is_name(word) {
        NAME_FRAMES
    } else {
        TERM_FRAMES
    };
    frames
        .iter()
        .map(|f| {
            let s = f.replace("{}", word);
            if f.starts_with("{}") {
                capitalise_first(&s)
            } else {
                s
            }
        })
        .collect()
}

fn sentence_set(set: &WordSet) -> WordSet {
    WordSet::new(
        set.name.clone(),
        set.words.iter().flat_map(|w| sentences(w)).collect(),
    )
}

/// The sentence version of a word test: every set's words put into the frames.
pub fn sentence_test(test: &WeatTest) -> WeatTest {
    WeatTest {
        name: format!("{}-seat", test.name),
        x: sentence_set(&test.x),
        y: sentence_set(&test.y),
        a: sentence_set(&test.a),
        b: sentence_set(&test.b),
        original: test.original.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fill_names_and_terms() {
        let s = sentences("Katie");
        assert_eq!(s.len(), NAME_FRAMES.len());
        assert!(s.contains(&"Katie is a person.".to_string()));
        let s = sentences("rose");
        assert!(s.contains(&"Rose is here.".to_string()));
        assert!(s.contains(&"This is rose.".to_string()));
        assert!(s.iter().all(|x| !x.contains("{}")));
    }
}
