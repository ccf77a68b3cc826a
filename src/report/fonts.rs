//! The PDF's typefaces. DejaVu Sans (built into the binary) draws Latin, Greek and Cyrillic;
//! the system's Noto faces draw Arabic, Japanese and Korean (Debian's `fonts-noto-core` and
//! `fonts-noto-cjk`, which `scripts/setup.sh` installs), read once per process. A string is cut
//! into runs by direction (the Unicode bidirectional algorithm) and then by the face that has
//! its characters, so each run is shaped in a face with its glyphs: Arabic joined and right to
//! left, a Korean name in the Korean face. krilla embeds only the glyphs a report uses.

use krilla::text::{Font, TextDirection};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use unicode_bidi::BidiInfo;

pub(super) const DEJAVU: &[u8] = include_bytes!("../../public/fonts/DejaVuSans.ttf");
pub(super) const DEJAVU_BOLD: &[u8] = include_bytes!("../../public/fonts/DejaVuSans-Bold.ttf");

/// Where the Noto faces are looked for, unless `AMSO_FONT_DIRS` (':'-separated) says.
const FONT_DIRS: &[&str] = &["/usr/share/fonts", "/usr/local/share/fonts"];

/// The script a face is there for: a character of that script goes to it first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Script {
    Latin,
    Arabic,
    Japanese,
    Korean,
}

impl Script {
    /// The script a character needs a face of, when it is one of the non-Latin ones.
    fn of(c: char) -> Option<Script> {
        match c as u32 {
            0x0600..=0x06FF
            | 0x0750..=0x077F
            | 0x08A0..=0x08FF
            | 0xFB50..=0xFDFF
            | 0xFE70..=0xFEFF => Some(Script::Arabic),
            0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7FF => {
                Some(Script::Korean)
            }
            0x2E80..=0x2FDF
            | 0x3000..=0x30FF
            | 0x31F0..=0x31FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xF900..=0xFAFF
            | 0xFF00..=0xFFEF
            | 0x20000..=0x2FA1F => Some(Script::Japanese),
            _ => None,
        }
    }
}

/// One face: its bytes (kept for the life of the process), parsed for metrics and for krilla.
struct Face {
    script: Script,
    metrics: FontRef<'static>,
    font: Font,
}

impl Face {
    fn new(script: Script, bytes: &'static [u8], index: u32) -> Option<Face> {
        Some(Face {
            script,
            metrics: FontRef::from_index(bytes, index).ok()?,
            font: Font::new(bytes.into(), index)?,
        })
    }

    fn has(&self, c: char) -> bool {
        self.metrics.charmap().map(c).is_some()
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        let charmap = self.metrics.charmap();
        let metrics = self
            .metrics
            .glyph_metrics(Size::new(size), LocationRef::default());
        s.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(size * 0.6)
            })
            .sum()
    }
}

/// A piece of a line drawn in one face and one direction, in the order it appears left to
/// right on the page.
pub struct Run<'a> {
    pub text: &'a str,
    pub font: Font,
    pub direction: TextDirection,
    pub width: f32,
}

/// The regular and bold face lists, DejaVu first, and which Noto faces were not found.
pub struct Faces {
    regular: Vec<Face>,
    bold: Vec<Face>,
    missing: Vec<&'static str>,
}

/// The faces, found and read the first time a PDF is drawn.
pub fn faces() -> &'static Faces {
    static FACES: OnceLock<Faces> = OnceLock::new();
    FACES.get_or_init(|| {
        let dirs: Vec<PathBuf> = match std::env::var("AMSO_FONT_DIRS") {
            Ok(v) if !v.trim().is_empty() => v.split(':').map(PathBuf::from).collect(),
            _ => FONT_DIRS.iter().map(PathBuf::from).collect(),
        };
        let faces = Faces::load(&dirs);
        if !faces.missing.is_empty() {
            tracing::warn!(
                missing = faces.missing.join(", "),
                "PDF reports will draw these scripts as empty boxes; install the fonts \
                 (scripts/setup.sh does) or point AMSO_FONT_DIRS at them"
            );
        }
        faces
    })
}

impl Faces {
    fn load(dirs: &[PathBuf]) -> Faces {
        let latin = |b| Face::new(Script::Latin, b, 0).expect("DejaVu Sans parses");
        let mut faces = Faces {
            regular: vec![latin(DEJAVU)],
            bold: vec![latin(DEJAVU_BOLD)],
            missing: Vec::new(),
        };
        let arabic = find(dirs, "NotoSansArabic-Regular.ttf");
        let arabic_bold = find(dirs, "NotoSansArabic-Bold.ttf").or(arabic);
        match (arabic, arabic_bold) {
            (Some(r), Some(b)) => {
                faces.regular.extend(Face::new(Script::Arabic, r, 0));
                faces.bold.extend(Face::new(Script::Arabic, b, 0));
            }
            _ => faces
                .missing
                .push("Arabic (Noto Sans Arabic, fonts-noto-core)"),
        }
        // One collection serves both weights: its bold twin would double the memory (20 MB)
        // for the few bold CJK cells a report has.
        match find(dirs, "NotoSansCJK-Regular.ttc") {
            Some(cjk) => {
                for (script, index) in [(Script::Japanese, 0), (Script::Korean, 1)] {
                    faces.regular.extend(Face::new(script, cjk, index));
                    faces.bold.extend(Face::new(script, cjk, index));
                }
            }
            None => faces
                .missing
                .push("Japanese and Korean (Noto Sans CJK, fonts-noto-cjk)"),
        }
        faces
    }

    /// The scripts whose faces were not found.
    #[cfg(test)]
    pub fn missing(&self) -> &[&'static str] {
        &self.missing
    }

    fn set(&self, bold: bool) -> &[Face] {
        if bold { &self.bold } else { &self.regular }
    }

    /// The face for `c`: its script's face when it has one with the glyph; a space, digit or
    /// punctuation mark stays in the face of the run it is in; otherwise the first face with
    /// the glyph (DejaVu, whose empty box shows what no face has).
    fn pick(faces: &[Face], c: char, current: Option<usize>) -> usize {
        if let Some(script) = Script::of(c)
            && let Some(i) = faces.iter().position(|f| f.script == script && f.has(c))
        {
            return i;
        }
        if let Some(i) = current
            && !c.is_alphabetic()
            && faces[i].has(c)
        {
            return i;
        }
        faces.iter().position(|f| f.has(c)).unwrap_or(0)
    }

    /// `s` cut where the face changes, in logical order.
    fn segments(faces: &[Face], s: &str) -> Vec<(Range<usize>, usize)> {
        let mut out: Vec<(Range<usize>, usize)> = Vec::new();
        for (at, c) in s.char_indices() {
            let current = out.last().map(|(_, f)| *f);
            let face = Self::pick(faces, c, current);
            let end = at + c.len_utf8();
            match out.last_mut() {
                Some((range, f)) if *f == face => range.end = end,
                _ => out.push((at..end, face)),
            }
        }
        out
    }

    /// `s` as runs left to right on the page: bidirectional runs in visual order, each cut
    /// by face (a right-to-left run's pieces in reverse).
    pub fn runs<'a>(&self, s: &'a str, bold: bool, size: f32) -> Vec<Run<'a>> {
        let faces = self.set(bold);
        let mut out = Vec::new();
        let mut push = |range: Range<usize>, rtl: bool| {
            let mut pieces = Self::segments(faces, &s[range.clone()]);
            if rtl {
                pieces.reverse();
            }
            for (r, face) in pieces {
                let text = &s[range.start + r.start..range.start + r.end];
                let face = &faces[face];
                out.push(Run {
                    text,
                    font: face.font.clone(),
                    direction: if rtl {
                        TextDirection::RightToLeft
                    } else {
                        TextDirection::LeftToRight
                    },
                    width: face.width(text, size),
                });
            }
        };
        let info = BidiInfo::new(s, None);
        if !info.has_rtl() {
            push(0..s.len(), false);
            return out;
        }
        for para in &info.paragraphs {
            let (levels, runs) = info.visual_runs(para, para.range.clone());
            for run in runs {
                let rtl = levels[run.start].is_rtl();
                push(run, rtl);
            }
        }
        out
    }

    /// Width of `s` in points at `size`.
    pub fn width(&self, s: &str, bold: bool, size: f32) -> f32 {
        let faces = self.set(bold);
        Self::segments(faces, s)
            .into_iter()
            .map(|(r, face)| faces[face].width(&s[r], size))
            .sum()
    }
}

/// The bytes of the first file called `name` under `dirs` (four levels deep at most), kept
/// for the life of the process.
fn find(dirs: &[PathBuf], name: &str) -> Option<&'static [u8]> {
    fn walk(dir: &Path, name: &str, depth: u8) -> Option<PathBuf> {
        let entries = std::fs::read_dir(dir).ok()?;
        let mut subdirs = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == name) && path.is_file() {
                return Some(path);
            }
            if depth > 0 && path.is_dir() {
                subdirs.push(path);
            }
        }
        subdirs.sort();
        subdirs.iter().find_map(|d| walk(d, name, depth - 1))
    }
    let path = dirs.iter().find_map(|d| walk(d, name, 4))?;
    let bytes = std::fs::read(&path).ok()?;
    Some(Box::leak(bytes.into_boxed_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin_only() -> Faces {
        Faces::load(&[])
    }

    #[test]
    fn without_noto_every_script_falls_back_to_dejavu_and_says_so() {
        let f = latin_only();
        assert_eq!(f.missing().len(), 2);
        let runs = f.runs("Weekly 報告", false, 10.0);
        assert_eq!(runs.len(), 1, "one face, one run");
        assert!(f.width("abc", false, 10.0) > 0.0);
    }

    #[test]
    fn runs_follow_the_faces_and_arabic_reads_right_to_left() {
        let f = faces();
        if !f.missing().is_empty() {
            // The integration suite runs after scripts/setup.sh, which installs the fonts;
            // here a machine without them still tests the fallback above.
            return;
        }
        let runs = f.runs("Tanaka 田中 and 김민준", false, 10.0);
        let texts: Vec<&str> = runs.iter().map(|r| r.text).collect();
        assert_eq!(texts, ["Tanaka ", "田中 ", "and ", "김민준"]);
        // A Latin sentence with an Arabic name: the name is one right-to-left run, in place.
        let runs = f.runs("by سارة العلي today", false, 10.0);
        let rtl: Vec<&str> = runs
            .iter()
            .filter(|r| r.direction == TextDirection::RightToLeft)
            .map(|r| r.text)
            .collect();
        assert_eq!(rtl, ["سارة العلي"]);
        assert_eq!(runs.first().map(|r| r.text), Some("by "));
        assert_eq!(runs.last().map(|r| r.text), Some(" today"));
        assert!(runs.iter().all(|r| r.width > 0.0));
    }
}
