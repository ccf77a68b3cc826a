//! Rules compiled for the decision worker: every term of every rule in one Aho–Corasick
//! automaton, so an ad's text is scanned once for terms
//! whatever the number of rules, and each regular expression once; then each rule's
//! condition tree is read off the matches.
//!
//! Terms match the way the model sees text (`engine::featurize`): NFKC, lower case,
//! look-alike letters folded, tokens split on anything not a letter or digit, spaced-out
//! letters joined (`c a s i n o`) and digits in words read as letters (`c4sino`). A term
//! matches whole tokens (`profit harian` does not match `nonprofit harian`), except terms in
//! scripts written without spaces (Chinese, Japanese, Korean, Thai), which match anywhere.
//! Regular expressions run on the normalised text (headline, a line break, body) with the
//! `regex` crate, whose matching time is linear in the text.

use super::spec::{CheckedAction, Condition, REGEX_SIZE_LIMIT, RuleSpec, SpecError};
use crate::engine::featurize::{normalize, tokens};
use crate::engine::model::CATEGORIES;
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use std::collections::HashSet;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Whether a rule acts or only records its hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Live,
    Background,
}

impl Mode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Background => "background",
        }
    }
}

/// What the worker knows of an ad when rules run.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub market: Market,
    pub language: Option<&'a str>,
    pub headline: &'a str,
    pub body: &'a str,
    pub landing_url: Option<&'a str>,
    pub advertiser: &'a str,
    /// When the advertiser's first ad came in (None: unknown, never "new").
    pub advertiser_first_seen: Option<Millis>,
    pub scores: &'a [f32; CATEGORIES],
    pub daily_budget_usd: f64,
    /// The instant the rule is evaluated at (the decision's time, or the ad's in a backtest).
    pub now: Millis,
}

/// A condition with its terms and patterns replaced by their places in the shared matchers.
#[derive(Clone, Debug)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    /// Index of this term list among the set's term leaves.
    Terms(usize),
    /// Index of this pattern in the set's regex set.
    Regex(usize),
    Domain(HashSet<String>),
    Advertiser(HashSet<String>),
    NewerThan(i64),
    /// Bit i: `Market::ALL[i]`.
    Market(u16),
    Language(Vec<String>),
    Score(usize, f64, f64),
    Budget(f64, f64),
}

/// One rule ready to run.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub id: i64,
    pub version: i64,
    pub name: String,
    pub mode: Mode,
    pub action: CheckedAction,
    /// Stops acting at this instant.
    pub expires_at: Option<Millis>,
    root: Node,
}

/// A rule to compile: its identity, its mode and what it says.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub id: i64,
    pub version: i64,
    pub mode: Mode,
    pub spec: &'a RuleSpec,
}

/// Rules compiled together.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<CompiledRule>,
    terms: Option<AhoCorasick>,
    /// Per automaton pattern: the term leaves it belongs to.
    pattern_leaves: Vec<Vec<u32>>,
    term_leaves: usize,
    /// Each pattern on its own: a pattern's literal prefilter skips most texts at once,
    /// where a set of patterns would run one automaton (and falls back to a slow engine on
    /// non-ASCII text with Unicode word boundaries).
    regexes: Vec<Regex>,
    needs_text: bool,
    /// Whether any rule asks how new the advertiser is.
    pub needs_first_seen: bool,
    /// Whether any rule reads a model score.
    pub needs_scores: bool,
}

/// The automaton pattern of a term: its tokens the way the ad's text is tokenised, padded
/// with spaces to match whole tokens, or bare for scripts without spaces. None when nothing
/// is left (punctuation only).
pub fn term_pattern(term: &str) -> Option<String> {
    let normalized = normalize(term);
    let toks: Vec<&str> = normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    if toks.is_empty() {
        return None;
    }
    // The way `tokens` joins spaced-out letters and de-leets, term side: a term written
    // `c a s i n o` or `c4sino` means `casino`.
    let joined = tokens(&normalized);
    let words: Vec<String> = if toks.len() >= 3 && toks.iter().all(|t| t.chars().count() == 1) {
        vec![toks.concat()]
    } else {
        toks.iter()
            .map(|t| {
                // The de-leeted form follows the raw token in `tokens`: take it when present.
                let i = joined.iter().position(|j| j == t);
                match i.and_then(|i| joined.get(i + 1)) {
                    Some(next)
                        if t.chars().any(|c| c.is_ascii_digit())
                            && !toks.contains(&next.as_str()) =>
                    {
                        next.clone()
                    }
                    _ => t.to_string(),
                }
            })
            .collect()
    };
    let body = words.join(" ");
    if body.chars().any(unspaced_script) {
        Some(body)
    } else {
        Some(format!(" {body} "))
    }
}

/// Scripts written without spaces between words: those the featurizer treats so, and Thai.
fn unspaced_script(c: char) -> bool {
    crate::engine::featurize::is_cjk(c) || matches!(c as u32, 0x3130..=0x318F | 0x0E00..=0x0E7F)
}

/// The text terms are searched in: every token, space-separated, padded.
fn term_haystack(normalized: &str) -> String {
    let toks = crate::engine::featurize::token_cows(normalized);
    let mut out = String::with_capacity(normalized.len() + toks.len() + 2);
    out.push(' ');
    for t in toks {
        out.push_str(&t);
        out.push(' ');
    }
    out
}

/// The registrable domain (eTLD+1) of a URL or host, lower case, per the public suffix list.
pub fn registrable_domain(url_or_host: &str) -> Option<String> {
    let host = crate::engine::featurize::domain_of(url_or_host)?;
    let host = host.trim_end_matches('.');
    psl::domain_str(host).map(str::to_string)
}

fn compile_error(field: &str, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Compiles one regular expression within the size limit, or says what a person sees for a
/// bad pattern.
pub fn compile_regex(field: &str, pattern: &str) -> Result<Regex, SpecError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => compile_error(
                field,
                format!("the pattern is too large (over {limit} bytes compiled); split it or use a term list"),
            ),
            other => compile_error(field, format!("the pattern does not compile: {other}")),
        })
}

struct Builder {
    patterns: Vec<String>,
    pattern_index: std::collections::HashMap<String, usize>,
    pattern_leaves: Vec<Vec<u32>>,
    term_leaves: usize,
    regexes: Vec<Regex>,
    needs_first_seen: bool,
    needs_scores: bool,
}

impl Builder {
    fn node(&mut self, c: &Condition, field: &str) -> Result<Node, SpecError> {
        Ok(match c {
            Condition::All(list) => Node::All(
                list.iter()
                    .enumerate()
                    .map(|(i, c)| self.node(c, &format!("{field}.all[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Any(list) => Node::Any(
                list.iter()
                    .enumerate()
                    .map(|(i, c)| self.node(c, &format!("{field}.any[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Not(inner) => {
                Node::Not(Box::new(self.node(inner, &format!("{field}.not"))?))
            }
            Condition::Terms(list) => {
                let leaf = self.term_leaves;
                self.term_leaves += 1;
                for (i, t) in list.iter().enumerate() {
                    let p = term_pattern(t).ok_or_else(|| {
                        compile_error(&format!("{field}.terms[{i}]"), "no letters or digits")
                    })?;
                    let next = self.patterns.len();
                    let at = *self.pattern_index.entry(p.clone()).or_insert(next);
                    if at == next {
                        self.patterns.push(p);
                        self.pattern_leaves.push(Vec::new());
                    }
                    let leaves = &mut self.pattern_leaves[at];
                    if leaves.last() != Some(&(leaf as u32)) {
                        leaves.push(leaf as u32);
                    }
                }
                Node::Terms(leaf)
            }
            Condition::Regex(pattern) => {
                self.regexes
                    .push(compile_regex(&format!("{field}.regex"), pattern)?);
                Node::Regex(self.regexes.len() - 1)
            }
            Condition::Domain(list) => {
                let mut set = HashSet::new();
                for (i, d) in list.iter().enumerate() {
                    let f = format!("{field}.domain[{i}]");
                    let host = crate::engine::featurize::domain_of(d)
                        .ok_or_else(|| compile_error(&f, "not a domain"))?;
                    let valid = host.len() <= 253
                        && host.contains('.')
                        && host.split('.').all(|l| {
                            !l.is_empty()
                                && l.len() <= 63
                                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
                        });
                    if !valid {
                        return Err(compile_error(&f, format!("`{host}` is not a domain name")));
                    }
                    let reg = registrable_domain(&host).ok_or_else(|| {
                        compile_error(
                            &f,
                            format!("`{host}` is a public suffix, not a registrable domain"),
                        )
                    })?;
                    set.insert(reg);
                }
                Node::Domain(set)
            }
            Condition::Advertiser(list) => {
                Node::Advertiser(list.iter().map(|a| a.trim().to_string()).collect())
            }
            Condition::AdvertiserNewerThanDays(days) => {
                self.needs_first_seen = true;
                Node::NewerThan(i64::from(*days) * DAY_MS)
            }
            Condition::Market(list) => {
                let mut bits = 0u16;
                for (i, m) in list.iter().enumerate() {
                    let m: Market =
                        m.parse()
                            .map_err(|e: crate::vocab::market::UnknownMarket| {
                                compile_error(&format!("{field}.market[{i}]"), e.to_string())
                            })?;
                    let at = Market::ALL.iter().position(|x| *x == m).unwrap_or(0);
                    bits |= 1 << at;
                }
                Node::Market(bits)
            }
            Condition::Language(list) => {
                Node::Language(list.iter().map(|l| l.trim().to_ascii_lowercase()).collect())
            }
            Condition::Score(b) => {
                self.needs_scores = true;
                let c: Category =
                    b.category
                        .parse()
                        .map_err(|e: crate::vocab::policy::UnknownCategory| {
                            compile_error(&format!("{field}.score.category"), e.to_string())
                        })?;
                Node::Score(c.index(), b.min.unwrap_or(0.0), b.max.unwrap_or(1.0))
            }
            Condition::Budget(b) => {
                Node::Budget(b.min.unwrap_or(0.0), b.max.unwrap_or(f64::INFINITY))
            }
        })
    }
}

/// Compiles one rule on its own: every error a person can fix, before anything is stored.
pub fn check(spec: &RuleSpec) -> Result<(), SpecError> {
    RuleSet::compile(&[Source {
        id: 0,
        version: 0,
        mode: Mode::Background,
        spec,
    }])
    .map(|_| ())
}

impl RuleSet {
    /// Compiles rules together.
    pub fn compile(sources: &[Source<'_>]) -> Result<RuleSet, SpecError> {
        let mut b = Builder {
            patterns: Vec::new(),
            pattern_index: Default::default(),
            pattern_leaves: Vec::new(),
            term_leaves: 0,
            regexes: Vec::new(),
            needs_first_seen: false,
            needs_scores: false,
        };
        let mut rules = Vec::with_capacity(sources.len());
        for s in sources {
            let root = b.node(&s.spec.conditions, "conditions")?;
            rules.push(CompiledRule {
                id: s.id,
                version: s.version,
                name: s.spec.name.trim().to_string(),
                mode: s.mode,
                action: s.spec.action.check()?,
                expires_at: s.spec.expires_millis()?,
                root,
            });
        }
        let terms = if b.patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&b.patterns)
                    .map_err(|e| {
                        compile_error("conditions", format!("term lists too large: {e}"))
                    })?,
            )
        };
        let regexes = b.regexes;
        Ok(RuleSet {
            needs_text: terms.is_some() || !regexes.is_empty(),
            rules,
            terms,
            pattern_leaves: b.pattern_leaves,
            term_leaves: b.term_leaves,
            regexes,
            needs_first_seen: b.needs_first_seen,
            needs_scores: b.needs_scores,
        })
    }

    /// Whether there is nothing to evaluate.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The indices (in `rules`) of the rules this ad matches, expired ones left out.
    pub fn matches(&self, facts: &Facts<'_>) -> Vec<usize> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let read = self.read(facts.headline, facts.body, facts.landing_url);
        self.matches_read(facts, &read)
    }

    /// The expensive part of matching, which needs only the ad's text and landing page: the
    /// term lists and patterns it hits, and its registrable domain. The worker runs it while
    /// the model scores the batch.
    pub fn read(&self, headline: &str, body: &str, landing_url: Option<&str>) -> TextRead {
        let mut term_hits = vec![false; self.term_leaves];
        let mut regex_hits = vec![false; self.regexes.len()];
        if self.needs_text {
            let mut text = String::with_capacity(headline.len() + body.len() + 1);
            text.push_str(headline);
            text.push('\n');
            text.push_str(body);
            let normalized = normalize(&text);
            if let Some(ac) = &self.terms {
                let hay = term_haystack(&normalized);
                for m in ac.find_overlapping_iter(&hay) {
                    for leaf in &self.pattern_leaves[m.pattern().as_usize()] {
                        term_hits[*leaf as usize] = true;
                    }
                }
            }
            for (hit, re) in regex_hits.iter_mut().zip(&self.regexes) {
                *hit = re.is_match(&normalized);
            }
        }
        TextRead {
            term_hits,
            regex_hits,
            domain: landing_url.and_then(registrable_domain),
        }
    }

    /// [`RuleSet::matches`] with the text already read by [`RuleSet::read`].
    pub fn matches_read(&self, facts: &Facts<'_>, read: &TextRead) -> Vec<usize> {
        let scratch = Scratch {
            facts,
            term_hits: &read.term_hits,
            regex_hits: &read.regex_hits,
            domain: read.domain.as_deref(),
        };
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.expires_at.is_none_or(|at| facts.now < at))
            .filter(|(_, r)| scratch.eval(&r.root))
            .map(|(i, _)| i)
            .collect()
    }
}

/// What an ad's text and landing page hit, before the other facts are known.
#[derive(Clone, Debug, Default)]
pub struct TextRead {
    term_hits: Vec<bool>,
    regex_hits: Vec<bool>,
    domain: Option<String>,
}

struct Scratch<'a> {
    facts: &'a Facts<'a>,
    term_hits: &'a [bool],
    regex_hits: &'a [bool],
    domain: Option<&'a str>,
}

impl Scratch<'_> {
    fn eval(&self, node: &Node) -> bool {
        let f = self.facts;
        match node {
            Node::All(list) => list.iter().all(|n| self.eval(n)),
            Node::Any(list) => list.iter().any(|n| self.eval(n)),
            Node::Not(inner) => !self.eval(inner),
            Node::Terms(leaf) => self.term_hits[*leaf],
            Node::Regex(i) => self.regex_hits[*i],
            Node::Domain(set) => self.domain.is_some_and(|d| set.contains(d)),
            Node::Advertiser(set) => set.contains(f.advertiser),
            Node::NewerThan(ms) => f.advertiser_first_seen.is_some_and(|t| f.now - t < *ms),
            Node::Market(bits) => {
                let at = Market::ALL.iter().position(|m| *m == f.market).unwrap_or(0);
                bits & (1 << at) != 0
            }
            Node::Language(list) => f.language.is_some_and(|l| {
                let l = l.to_ascii_lowercase();
                // `pt` in the rule takes `pt-BR` ads too.
                list.iter().any(|x| {
                    *x == l
                        || l.strip_prefix(x.as_str())
                            .is_some_and(|r| r.starts_with('-'))
                })
            }),
            Node::Score(c, lo, hi) => {
                let s = f64::from(f.scores[*c]);
                s >= *lo && s <= *hi
            }
            Node::Budget(lo, hi) => f.daily_budget_usd >= *lo && f.daily_budget_usd <= *hi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::spec::parse;

    fn set(json: &str) -> RuleSet {
        let spec = parse(json).unwrap();
        RuleSet::compile(&[Source {
            id: 1,
            version: 1,
            mode: Mode::Live,
            spec: &spec,
        }])
        .unwrap()
    }

    fn facts<'a>(headline: &'a str, body: &'a str, scores: &'a [f32; CATEGORIES]) -> Facts<'a> {
        Facts {
            market: Market::Id,
            language: Some("id"),
            headline,
            body,
            landing_url: Some("https://promo.investasi-cepat.co.id/daftar?x=1"),
            advertiser: "adv-9",
            advertiser_first_seen: Some(1_000),
            scores,
            daily_budget_usd: 40.0,
            now: 1_000 + 2 * DAY_MS,
        }
    }

    const ZERO: [f32; CATEGORIES] = [0.0; CATEGORIES];

    fn hits(rules: &RuleSet, headline: &str) -> bool {
        !rules.matches(&facts(headline, "", &ZERO)).is_empty()
    }

    #[test]
    fn terms_match_under_every_normalisation() {
        let r = set(
            r#"{"name": "t", "conditions": {"terms": ["casino", "profit harian", "投資"]}, "action": {"flag": "x"}}"#,
        );
        for text in [
            "Best CASINO in town",
            "best ｃａｓｉｎｏ",       // full width (NFKC)
            "best саsinо",             // Cyrillic а and о
            "best c4sin0 tonight",     // leetspeak
            "best c a s i n o",        // spaced letters
            "dapat Profit   Harian!!", // case, spacing, punctuation
            "pr0fit harian dijamin",   // leet inside a bigram
            "暗号資産投資で稼ぐ",      // Japanese, no spaces
        ] {
            assert!(hits(&r, text), "{text}");
        }
        for text in [
            "casinos",
            "nonprofit harian",
            "profit bulanan",
            "occasion",
            "",
        ] {
            assert!(!hits(&r, text), "{text}");
        }
    }

    #[test]
    fn a_term_written_obfuscated_means_the_plain_word() {
        let r = set(
            r#"{"name": "t", "conditions": {"terms": ["c4sino", "s l o t"]}, "action": {"flag": "x"}}"#,
        );
        assert!(hits(&r, "casino night"));
        assert!(hits(&r, "slot gacor"));
    }

    #[test]
    fn leaves_read_their_facts() {
        let mut scores = ZERO;
        scores[Category::Scam.index()] = 0.55;
        let f = facts("hello", "world", &scores);
        let yes = |cond: &str| {
            let r = set(&format!(
                r#"{{"name": "t", "conditions": {cond}, "action": {{"flag": "x"}}}}"#
            ));
            !r.matches(&f).is_empty()
        };
        assert!(yes(r#"{"domain": ["investasi-cepat.co.id"]}"#));
        assert!(yes(r#"{"domain": ["https://www.investasi-cepat.co.id/"]}"#));
        assert!(!yes(r#"{"domain": ["cepat.co.id"]}"#));
        assert!(yes(r#"{"advertiser": ["adv-9", "adv-10"]}"#));
        assert!(yes(r#"{"advertiser_newer_than_days": 3}"#));
        assert!(!yes(r#"{"advertiser_newer_than_days": 2}"#));
        assert!(yes(r#"{"market": ["SG", "ID"]}"#));
        assert!(!yes(r#"{"market": ["SG"]}"#));
        assert!(yes(r#"{"language": ["ID"]}"#));
        assert!(yes(r#"{"score": {"category": "scam", "min": 0.4}}"#));
        assert!(!yes(r#"{"score": {"category": "scam", "max": 0.4}}"#));
        assert!(yes(r#"{"budget": {"min": 0, "max": 50}}"#));
        assert!(!yes(r#"{"budget": {"min": 50}}"#));
        assert!(yes(r#"{"regex": "hel+o\\s+w"}"#));
        assert!(yes(
            r#"{"all": [{"market": ["ID"]}, {"not": {"market": ["SG"]}}]}"#
        ));
        assert!(yes(
            r#"{"any": [{"market": ["SG"]}, {"terms": ["world"]}]}"#
        ));
        assert!(!yes(
            r#"{"not": {"any": [{"market": ["SG"]}, {"terms": ["world"]}]}}"#
        ));
    }

    #[test]
    fn bad_patterns_and_domains_are_refused_by_field() {
        let e = |cond: &str| {
            let spec = parse(&format!(
                r#"{{"name": "t", "conditions": {cond}, "action": {{"flag": "x"}}}}"#
            ))
            .unwrap();
            check(&spec).unwrap_err()
        };
        let x = e(r#"{"all": [{"market": ["ID"]}, {"regex": "(unclosed"}]}"#);
        assert_eq!(x.field, "conditions.all[1].regex");
        assert!(x.message.contains("does not compile"), "{x}");
        let x = e(r#"{"regex": "\\w{1000}\\w{1000}\\w{1000}"}"#);
        assert!(x.message.contains("too large"), "{x}");
        assert_eq!(e(r#"{"domain": ["co.id"]}"#).field, "conditions.domain[0]");
        assert_eq!(
            e(r#"{"domain": ["ok.com", "not a domain"]}"#).field,
            "conditions.domain[1]"
        );
    }

    #[test]
    fn expired_rules_stop_matching() {
        let r = set(
            r#"{"name": "t", "conditions": {"market": ["ID"]}, "action": {"flag": "x"}, "expires_at": "1970-01-01T00:00:01Z"}"#,
        );
        assert!(r.matches(&facts("x", "", &ZERO)).is_empty());
    }

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(
            registrable_domain("https://a.b.example.co.uk/x").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(
            registrable_domain("shop.example.com.br").as_deref(),
            Some("example.com.br")
        );
        assert_eq!(
            registrable_domain("WWW.Example.COM:8080").as_deref(),
            Some("example.com")
        );
        assert_eq!(registrable_domain("co.uk"), None);
    }
}
