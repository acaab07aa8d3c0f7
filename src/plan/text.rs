//! Bounded, allocation-light text scanning shared by the classifier, the prompt checks and the
//! reference finder.
//!
//! Every rule of the planner is a table of lower-case phrases of one to three words, matched on
//! word boundaries with longest-match-first (so `unit tests` counts once, not also as `tests`).
//! A task is scanned once into a [`Scan`]; the tables are looked up through a hash index, so the
//! cost is linear in the words scanned, not words × table size.
//!
//! Only the first [`SCAN_BYTES`] of a task are scanned. Why: what a task *is* shows in its
//! opening sentences; the tail of a multi-megabyte prompt is pasted data (logs, files) whose
//! keywords would only add noise — and an unbounded scan would let one huge task make planning
//! slow. Length itself is still measured over the whole text (a cheap byte count).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use super::classify::{Category, SignalKind};

/// Bytes of a task that keyword, reference and phrasing scans read.
pub const SCAN_BYTES: usize = 16 * 1024;

/// Longest phrase (in words) any table holds.
pub const MAX_PHRASE_WORDS: usize = 3;

/// The first [`SCAN_BYTES`] of `text`, cut on a character boundary.
pub fn scan_window(text: &str) -> &str {
    if text.len() <= SCAN_BYTES {
        return text;
    }
    let mut end = SCAN_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` cut to at most `max` characters, with `…` when cut (for messages and previews).
pub fn preview(text: &str, max: usize) -> String {
    let flat: String = scan_window(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max + 1)
        .collect();
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        flat
    }
}

/// Everything the tables say about one phrase. All tables of the planner are merged into one
/// [`Lexicon`], so a task's words are looked up once (three hash probes per word: one-, two-
/// and three-word phrases) whatever the number of tables.
#[derive(Debug, Default)]
pub struct Entry {
    pub phrase: &'static str,
    /// [`super::classify::CATEGORY_RULES`]
    pub category: Option<(Category, f64)>,
    /// [`super::classify::EFFORT_RULES`]
    pub effort: Option<(f64, SignalKind)>,
    /// [`super::classify::MULTI_STEP_RULES`]
    pub multi_step: bool,
    /// [`super::classify::ACTION_VERBS`]
    pub action: bool,
    /// [`super::classify::ITEM_NOUNS`]
    pub item_unit: Option<f64>,
    /// [`super::complexity::INTERACTIVE_PHRASES`]
    pub interactive: bool,
    /// [`super::complexity::VAGUE_PHRASES`]
    pub vague: bool,
    /// [`super::references::VAGUE_REFERENCES`]
    pub reference: bool,
    /// [`NUMBER_WORDS`]
    pub number: Option<u64>,
}

/// Numbers written as words.
pub const NUMBER_WORDS: &[(&str, u64)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("hundred", 100),
    ("dozen", 12),
];

/// FxHash (as in rustc): a multiply-rotate hash, many times cheaper than SipHash on the short
/// keys of the tables. Flooding is no concern: the tables are static and task words only
/// probe them.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(buf))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every table phrase, merged.
#[derive(Debug)]
pub struct Lexicon {
    map: HashMap<&'static str, Entry, BuildHasherDefault<FxHasher>>,
    /// Bit per (first byte, length) of the phrases: most words of a task are in no table, and
    /// this rejects them without hashing.
    filter: Box<[u64; 128]>,
}

fn filter_bit(phrase: &str) -> usize {
    let first = phrase.as_bytes().first().copied().unwrap_or(0) as usize;
    first * 32 + phrase.len().min(31)
}

impl Lexicon {
    fn build() -> Lexicon {
        use super::classify::{
            ACTION_VERBS, CATEGORY_RULES, EFFORT_RULES, ITEM_NOUNS, MULTI_STEP_RULES,
        };
        use super::complexity::{INTERACTIVE_PHRASES, VAGUE_PHRASES};
        use super::references::VAGUE_REFERENCES;
        let mut lex = Lexicon {
            map: HashMap::default(),
            filter: Box::new([0u64; 128]),
        };
        // A phrase listed twice in one table keeps its first entry.
        for (p, c, w) in CATEGORY_RULES {
            lex.entry(p).category.get_or_insert((*c, *w));
        }
        for (p, w, k) in EFFORT_RULES {
            lex.entry(p).effort.get_or_insert((*w, *k));
        }
        for p in MULTI_STEP_RULES {
            lex.entry(p).multi_step = true;
        }
        for p in ACTION_VERBS {
            lex.entry(p).action = true;
        }
        for (p, u) in ITEM_NOUNS {
            lex.entry(p).item_unit.get_or_insert(*u);
        }
        for p in INTERACTIVE_PHRASES {
            lex.entry(p).interactive = true;
        }
        for p in VAGUE_PHRASES {
            lex.entry(p).vague = true;
        }
        for p in VAGUE_REFERENCES {
            lex.entry(p).reference = true;
        }
        for (p, n) in NUMBER_WORDS {
            lex.entry(p).number.get_or_insert(*n);
        }
        lex
    }

    fn entry(&mut self, phrase: &'static str) -> &mut Entry {
        let bit = filter_bit(phrase);
        self.filter[bit / 64] |= 1 << (bit % 64);
        self.map.entry(phrase).or_insert_with(|| Entry {
            phrase,
            ..Default::default()
        })
    }

    /// The entry of exactly this phrase (lower case, words separated by single spaces).
    pub fn get(&self, phrase: &str) -> Option<&Entry> {
        let bit = filter_bit(phrase);
        if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
            return None;
        }
        self.map.get(phrase)
    }
}

/// The merged tables.
pub fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(Lexicon::build)
}

/// One scanned task: the lower-cased window, its words, the words re-joined with single
/// spaces (so a phrase is one slice, whatever punctuation separated its words), and the table
/// entries of the phrases starting at each word.
#[derive(Debug)]
pub struct Scan {
    /// The lower-cased scan window.
    pub lower: String,
    /// Word spans in `lower`.
    pub spans: Vec<(usize, usize)>,
    /// Words joined by single spaces.
    pub norm: String,
    /// Word spans in `norm` (same order as `spans`).
    pub norm_spans: Vec<(usize, usize)>,
    /// Per word: the entries of the 1-, 2- and 3-word phrases starting there.
    hits: Vec<[Option<&'static Entry>; MAX_PHRASE_WORDS]>,
    /// Whether the task is longer than the window.
    pub truncated: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Scan {
    pub fn new(text: &str) -> Scan {
        let window = scan_window(text);
        let lower = window.to_lowercase();
        let mut spans = Vec::new();
        let mut start = None;
        for (i, c) in lower.char_indices() {
            match (is_word_char(c), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    spans.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            spans.push((s, lower.len()));
        }
        let mut norm = String::with_capacity(lower.len());
        let mut norm_spans = Vec::with_capacity(spans.len());
        for &(s, e) in &spans {
            if !norm.is_empty() {
                norm.push(' ');
            }
            let ns = norm.len();
            norm.push_str(&lower[s..e]);
            norm_spans.push((ns, norm.len()));
        }
        let lex = lexicon();
        let hits = (0..norm_spans.len())
            .map(|i| {
                let mut row = [None; MAX_PHRASE_WORDS];
                for (n, slot) in row.iter_mut().enumerate() {
                    let last = i + n;
                    if last >= norm_spans.len() {
                        break;
                    }
                    *slot = lex.get(&norm[norm_spans[i].0..norm_spans[last].1]);
                }
                row
            })
            .collect();
        Scan {
            lower,
            spans,
            norm,
            norm_spans,
            hits,
            truncated: window.len() < text.len(),
        }
    }

    pub fn word_count(&self) -> usize {
        self.spans.len()
    }

    /// The `i`-th word (lower case).
    pub fn word(&self, i: usize) -> &str {
        let (s, e) = self.norm_spans[i];
        &self.norm[s..e]
    }

    /// Words `i .. i + n` joined by single spaces, if there are that many.
    pub fn phrase(&self, i: usize, n: usize) -> Option<&str> {
        let last = i.checked_add(n)?.checked_sub(1)?;
        if last >= self.norm_spans.len() {
            return None;
        }
        Some(&self.norm[self.norm_spans[i].0..self.norm_spans[last].1])
    }

    /// The table entry of the `n`-word phrase at word `i`.
    pub fn entry(&self, i: usize, n: usize) -> Option<&'static Entry> {
        *self.hits.get(i)?.get(n.checked_sub(1)?)?
    }

    /// Word `i` as a number (digits, or a word such as `twelve`).
    pub fn number(&self, i: usize) -> Option<u64> {
        let w = self.word(i);
        if w.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            return parse_number(w);
        }
        self.entry(i, 1)?.number
    }

    /// The first non-space character after word `i` in the lower-cased text.
    pub fn char_after(&self, i: usize) -> Option<char> {
        let (_, e) = *self.spans.get(i)?;
        self.lower[e..].chars().find(|c| !c.is_whitespace())
    }

    /// Longest-match-first occurrences of the phrases of one table (the entries `table` maps
    /// to `Some`): `(word position, phrase length, value)`. Each distinct phrase is reported
    /// once (repeating a keyword does not make a task more of anything).
    pub fn matches<T>(
        &self,
        table: impl Fn(&'static Entry) -> Option<T>,
    ) -> Vec<(usize, usize, T)> {
        let mut out = Vec::new();
        // One entry per distinct table phrase, so this stays small.
        let mut seen: Vec<*const Entry> = Vec::new();
        let mut i = 0;
        while i < self.hits.len() {
            let mut hit = None;
            for n in (1..=MAX_PHRASE_WORDS).rev() {
                if let Some(e) = self.hits[i][n - 1]
                    && let Some(v) = table(e)
                {
                    hit = Some((n, e, v));
                    break;
                }
            }
            match hit {
                Some((n, e, v)) => {
                    let ptr = e as *const Entry;
                    if !seen.contains(&ptr) {
                        seen.push(ptr);
                        out.push((i, n, v));
                    }
                    i += n;
                }
                None => i += 1,
            }
        }
        out
    }
}

/// A number written in digits or as one of the [`NUMBER_WORDS`]. Digit strings longer than 9
/// are refused (no overflow, and nobody asks for a billion tests).
pub fn parse_number(word: &str) -> Option<u64> {
    if !word.is_empty() && word.len() <= 9 && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    lexicon().get(word)?.number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_cut_on_a_char_boundary() {
        let text = "é".repeat(SCAN_BYTES);
        let w = scan_window(&text);
        assert!(w.len() <= SCAN_BYTES);
        assert!(w.len() >= SCAN_BYTES - 1);
        assert_eq!(scan_window("short"), "short");
    }

    #[test]
    fn phrases_match_across_punctuation_longest_first_once() {
        let scan = Scan::new("Add Unit-Tests; more tests, tests! Event   sourcing");
        let hits: Vec<_> = scan
            .matches(|e| e.category.map(|_| e.phrase))
            .into_iter()
            .map(|h| h.2)
            .collect();
        assert_eq!(hits, vec!["add", "unit tests", "tests", "event sourcing"]);
        assert_eq!(scan.entry(1, 2).map(|e| e.phrase), Some("unit tests"));
    }

    #[test]
    fn numbers_in_digits_and_words() {
        assert_eq!(parse_number("12"), Some(12));
        assert_eq!(parse_number("twelve"), Some(12));
        assert_eq!(parse_number("1234567890"), None);
        assert_eq!(parse_number("x1"), None);
    }

    #[test]
    fn preview_cuts_and_flattens() {
        assert_eq!(preview("a\nb", 10), "a b");
        assert_eq!(preview("abcdefghijkl", 5), "abcd…");
    }
}
