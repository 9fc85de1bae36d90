//! The release image: a 1200×630 PNG of a release card — the project's name and version,
//! the headline change and the next few — in the Obsidian palette, for link previews and
//! for posts that carry media. Drawn here, in process: glyphs come pre-rasterized from
//! Noto Sans Mono (the `noto-sans-mono-bitmap` crate), so no font file, browser or network
//! is involved and the same card always gives the same bytes.
//!
//! The image is made from the release notes as they stand, so editing a card's text and
//! rendering again is all "regenerating" takes.

use noto_sans_mono_bitmap::{FontWeight, RasterHeight, get_raster, get_raster_width};

pub const WIDTH: usize = 1200;
pub const HEIGHT: usize = 630;

const OBSIDIAN: [u8; 3] = [0x0B, 0x0C, 0x10];
const GUNMETAL: [u8; 3] = [0x1F, 0x28, 0x33];
const NEON: [u8; 3] = [0x66, 0xFC, 0xF1];
const TEXT: [u8; 3] = [0xE6, 0xED, 0xF3];
const MUTED: [u8; 3] = [0xA9, 0xB4, 0xC0];
const LINE: [u8; 3] = [0x2C, 0x3A, 0x47];

const MARGIN: usize = 80;
/// At most this many changes under the headline: legible at thumbnail size.
const CHANGES: usize = 4;

/// The most alt text any image gets.
pub const ALT_MAX: usize = 1000;

/// What the image says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseImage {
    pub project: String,
    pub version: String,
    pub headline: String,
    pub changes: Vec<String>,
    /// Where the project lives (`github.com/acme/rocket`), shown at the foot.
    pub link: Option<String>,
}

/// Sections of release notes that users do not see: not on the image.
const UPKEEP: [&str; 6] = [
    "documentation",
    "refactor",
    "maintenance",
    "test",
    "chore",
    "build",
];

impl ReleaseImage {
    /// The image of a release from its notes (markdown, as drafted and edited): the first
    /// item users get is the headline, the next few are the changes. `link` is the
    /// release's or repository's URL.
    pub fn from_notes(project: &str, version: &str, notes: &str, link: Option<&str>) -> Self {
        Self::led_by(project, version, notes, link, None)
    }

    /// Like [`ReleaseImage::from_notes`], with the change `lead` (a post's first line)
    /// names as the headline, so the image and the post lead with the same change.
    pub fn led_by(
        project: &str,
        version: &str,
        notes: &str,
        link: Option<&str>,
        lead: Option<&str>,
    ) -> Self {
        let mut items = Vec::new();
        let mut upkeep = false;
        for line in notes.lines() {
            let t = line.trim();
            if let Some(heading) = t.strip_prefix('#') {
                let h = heading.trim_start_matches('#').trim().to_ascii_lowercase();
                upkeep = UPKEEP.iter().any(|u| h.contains(u));
                continue;
            }
            if upkeep {
                continue;
            }
            if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
                let item = plain_item(item);
                if !item.is_empty() {
                    items.push(item);
                }
            }
        }
        if let Some(lead) = lead {
            let words = |t: &str| -> std::collections::HashSet<String> {
                t.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.chars().count() >= 3)
                    .map(str::to_lowercase)
                    .collect()
            };
            let wanted = words(lead);
            let best = items
                .iter()
                .enumerate()
                .map(|(n, i)| (words(i).intersection(&wanted).count(), n))
                .filter(|(shared, _)| *shared >= 3)
                .max_by_key(|(shared, n)| (*shared, std::cmp::Reverse(*n)));
            if let Some((_, n)) = best {
                let item = items.remove(n);
                items.insert(0, item);
            }
        }
        let mut items = items.into_iter();
        let headline = items
            .next()
            .unwrap_or_else(|| format!("{project} {version} is out"));
        ReleaseImage {
            project: project.to_owned(),
            version: version.to_owned(),
            headline,
            changes: items.take(CHANGES).collect(),
            // The repository, not the release page or compare view under it.
            link: link.map(|l| {
                let l = l
                    .trim_start_matches("https://")
                    .trim_start_matches("http://");
                let l = ["/releases/", "/compare/", "/tree/", "/commit/"]
                    .iter()
                    .find_map(|cut| l.find(cut).map(|at| &l[..at]))
                    .unwrap_or(l);
                l.trim_end_matches('/').to_owned()
            }),
        }
    }

    /// What the image shows, as text: its alt text wherever it is posted.
    pub fn alt(&self) -> String {
        let mut alt = format!("{} {}: {}", self.project, self.version, self.headline);
        if !self.changes.is_empty() {
            alt.push_str(". Also: ");
            alt.push_str(&self.changes.join("; "));
        }
        alt.push('.');
        // Every platform takes a thousand characters of alt text (Mastodon 1,500, X
        // 1,000, Discord 1,024): the picture never costs the post.
        if alt.chars().count() > ALT_MAX {
            alt = alt.chars().take(ALT_MAX - 1).collect::<String>() + "…";
        }
        alt
    }
}

/// A notes item as words: no scope label, references, credits, symbol notes or markup.
fn plain_item(item: &str) -> String {
    let mut s = item.trim().to_owned();
    // "**logger:** Color latency": the component stays, as words ("Logger: Color
    // latency"), without its markup.
    if s.starts_with("**")
        && let Some(end) = s[2..].find("**")
    {
        let label = s[2..2 + end].to_owned();
        if label.ends_with(':') {
            let mut chars = label.chars();
            let label: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            s = format!("{label} {}", s[2 + end + 2..].trim());
        }
    }
    // "… (#1513) by cuisongliu — new `X` function": references, credits, symbol notes.
    for cut in [" (#", " (", " — ", " by @", " by "] {
        if let Some(at) = s.find(cut).filter(|at| *at > 0) {
            s.truncate(at);
        }
    }
    s.chars()
        .filter(|c| !matches!(c, '`' | '*' | '_'))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An RGB canvas.
struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        let mut px = Vec::with_capacity(WIDTH * HEIGHT * 3);
        for _ in 0..WIDTH * HEIGHT {
            px.extend_from_slice(&OBSIDIAN);
        }
        Canvas { px }
    }

    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, colour: [u8; 3]) {
        for row in y..(y + h).min(HEIGHT) {
            for col in x..(x + w).min(WIDTH) {
                let i = (row * WIDTH + col) * 3;
                self.px[i..i + 3].copy_from_slice(&colour);
            }
        }
    }

    fn blend(&mut self, x: usize, y: usize, colour: [u8; 3], alpha: u32) {
        if x >= WIDTH || y >= HEIGHT || alpha == 0 {
            return;
        }
        let i = (y * WIDTH + x) * 3;
        for (k, c) in colour.iter().enumerate() {
            let bg = self.px[i + k] as u32;
            self.px[i + k] = ((bg * (255 - alpha) + *c as u32 * alpha + 127) / 255) as u8;
        }
    }

    /// Draws `text` from (x, y) (its box's top left) at `size` scaled by `scale`
    /// (bilinear, in quarters: 4 = as rasterized); returns where the text ends.
    fn text(&mut self, x: usize, y: usize, text: &str, font: Font, colour: [u8; 3]) -> usize {
        let mut pen = x;
        for c in glyphs(text) {
            let Some(g) = get_raster(c, font.weight, font.size)
                .or_else(|| get_raster('?', font.weight, font.size))
            else {
                continue;
            };
            let (w, h) = (g.width(), g.height());
            let (tw, th) = (w * font.quarters / 4, h * font.quarters / 4);
            for ty in 0..th {
                for tx in 0..tw {
                    // The source point under the target pixel's centre, in sixteenths.
                    let sx = ((tx * 2 + 1) * 4 * 16 / (font.quarters * 2)).saturating_sub(8);
                    let sy = ((ty * 2 + 1) * 4 * 16 / (font.quarters * 2)).saturating_sub(8);
                    let (x0, y0) = (sx / 16, sy / 16);
                    let (fx, fy) = ((sx % 16) as u32, (sy % 16) as u32);
                    let at = |x: usize, y: usize| {
                        g.pixel(x.min(w - 1), y.min(h - 1)).unwrap_or(0) as u32
                    };
                    let top = at(x0, y0) * (16 - fx) + at(x0 + 1, y0) * fx;
                    let bottom = at(x0, y0 + 1) * (16 - fx) + at(x0 + 1, y0 + 1) * fx;
                    let alpha = (top * (16 - fy) + bottom * fy) / 256;
                    self.blend(pen + tx, y + ty, colour, alpha);
                }
            }
            pen += tw;
        }
        pen
    }

    /// The canvas as a PNG (8-bit RGB, every row unfiltered, zlib at a fast level:
    /// flat colours compress well without searching).
    fn png(&self) -> Vec<u8> {
        use std::io::Write as _;
        let mut raw = Vec::with_capacity(HEIGHT * (1 + WIDTH * 3));
        for row in self.px.chunks_exact(WIDTH * 3) {
            raw.push(0);
            raw.extend_from_slice(row);
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&raw).expect("writing to memory");
        let idat = z.finish().expect("writing to memory");
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(WIDTH as u32).to_be_bytes());
        ihdr.extend_from_slice(&(HEIGHT as u32).to_be_bytes());
        // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = Vec::with_capacity(idat.len() + 64);
        out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        for (kind, data) in [
            (b"IHDR", &ihdr[..]),
            (b"IDAT", &idat[..]),
            (b"IEND", &[][..]),
        ] {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
        }
        out
    }
}

#[derive(Clone, Copy)]
struct Font {
    weight: FontWeight,
    size: RasterHeight,
    /// Scale in quarters (4: as rasterized; 8: twice).
    quarters: usize,
}

impl Font {
    fn advance(self) -> usize {
        get_raster_width(self.weight, self.size) * self.quarters / 4
    }

    fn height(self) -> usize {
        self.size as usize * self.quarters / 4
    }

    /// How many characters fit in `width`.
    fn fits(self, width: usize) -> usize {
        width / self.advance().max(1)
    }
}

const TITLE: Font = Font {
    weight: FontWeight::Bold,
    size: RasterHeight::Size32,
    quarters: 8,
};
const HEADLINE: Font = Font {
    weight: FontWeight::Bold,
    size: RasterHeight::Size32,
    quarters: 6,
};
const BODY: Font = Font {
    weight: FontWeight::Regular,
    size: RasterHeight::Size32,
    quarters: 4,
};
const FOOT: Font = Font {
    weight: FontWeight::Regular,
    size: RasterHeight::Size24,
    quarters: 4,
};

/// The characters the font draws: typographic punctuation as its plain kin, anything it
/// has no glyph for (emoji) left out.
fn glyphs(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter_map(|c| {
        let c = match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            '\u{2026}' => '.',
            c => c,
        };
        get_raster(c, FontWeight::Regular, RasterHeight::Size24).map(|_| c)
    })
}

/// `text` cut into at most `lines` lines of at most `width` characters, at spaces; the
/// last line ends in "..." when something was left out.
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| glyphs(w).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect();
    let mut cut = false;
    for word in &words {
        let len = line.chars().count();
        let wlen = word.chars().count();
        if len > 0 && len + 1 + wlen > width {
            out.push(std::mem::take(&mut line));
            if out.len() == lines {
                cut = true;
                break;
            }
        }
        if !line.is_empty() {
            line.push(' ');
        }
        if wlen > width {
            line.extend(word.chars().take(width));
        } else {
            line.push_str(word);
        }
    }
    if !cut && !line.is_empty() {
        out.push(line);
    }
    if cut && let Some(last) = out.last_mut() {
        while last.chars().count() + 3 > width {
            last.pop();
        }
        last.push_str("...");
    }
    out
}

/// The PNG.
pub fn render(image: &ReleaseImage) -> Vec<u8> {
    let mut c = Canvas::new();
    let inner = WIDTH - 2 * MARGIN;
    c.rect(0, 0, 14, HEIGHT, NEON);
    let mut y = 64;
    // The project in neon, its version beside it; smaller when the pair is long.
    let title_len = image.project.chars().count() + 1 + image.version.chars().count();
    let title = if title_len <= TITLE.fits(inner) {
        TITLE
    } else {
        HEADLINE
    };
    let end = c.text(MARGIN, y, &image.project, title, NEON);
    let room = TITLE.fits(WIDTH - MARGIN - end.min(WIDTH - MARGIN));
    if room > 1 {
        c.text(end + title.advance(), y, &image.version, title, TEXT);
    }
    y += title.height() + 28;
    c.rect(MARGIN, y, 120, 4, NEON);
    y += 28;
    for line in wrap(&image.headline, HEADLINE.fits(inner), 2) {
        c.text(MARGIN, y, &line, HEADLINE, TEXT);
        y += HEADLINE.height() + 6;
    }
    y += 18;
    for change in &image.changes {
        if y + BODY.height() > HEIGHT - 96 {
            break;
        }
        c.rect(MARGIN, y + BODY.height() / 2 - 5, 10, 10, NEON);
        if let Some(line) = wrap(change, BODY.fits(inner - 30), 1).first() {
            c.text(MARGIN + 30, y, line, BODY, MUTED);
        }
        y += BODY.height() + 10;
    }
    // The foot: a rule and where the project lives.
    c.rect(0, HEIGHT - 72, WIDTH, 72, GUNMETAL);
    c.rect(0, HEIGHT - 73, WIDTH, 1, LINE);
    c.rect(0, HEIGHT - 72, 14, 72, NEON);
    if let Some(link) = &image.link
        && let Some(line) = wrap(link, FOOT.fits(inner), 1).first()
    {
        c.text(
            MARGIN,
            HEIGHT - 72 + (72 - FOOT.height()) / 2,
            line,
            FOOT,
            MUTED,
        );
    }
    c.png()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTES: &str = "## v1.21.0 (2025-02-17)\n\n[Full changes](https://github.com/prometheus/client_golang/releases/tag/v1.21.0)\n\n### Features\n\n- **api:** Add ability to CloseIdleConnection for one-off httpClient use cases (#1513) by cuisongliu — new `CloseIdleConnections` function\n- Add exponential backoff for CAS operations on floats (#1661) by Ivan Goncharov\n\n### Bug fixes\n\n- Fix pedantic registry failures on darwin with cgo (#1715) by bwplotka\n\n### Documentation\n\n- Add RELEASE.md for the release process (#1690)\n\n### Performance\n\n- Optimize BuildFQName function (#1665) by @jkroepke\n";

    fn image() -> ReleaseImage {
        ReleaseImage::from_notes(
            "client_golang",
            "v1.21.0",
            NOTES,
            Some("https://github.com/prometheus/client_golang"),
        )
    }

    #[test]
    fn the_image_says_what_users_get_in_plain_words() {
        let i = image();
        assert_eq!(
            i.headline,
            "Api: Add ability to CloseIdleConnection for one-off httpClient use cases"
        );
        assert_eq!(
            i.changes,
            [
                "Add exponential backoff for CAS operations on floats",
                "Fix pedantic registry failures on darwin with cgo",
                "Optimize BuildFQName function",
            ],
            "no docs, references, credits or symbol notes"
        );
        assert_eq!(
            i.link.as_deref(),
            Some("github.com/prometheus/client_golang")
        );
        let alt = i.alt();
        assert!(
            alt.starts_with("client_golang v1.21.0: Api: Add ability"),
            "{alt}"
        );
        assert!(alt.contains("Optimize BuildFQName function"), "{alt}");
    }

    #[test]
    fn the_posts_headline_leads_the_image_too() {
        let led = ReleaseImage::led_by(
            "client_golang",
            "v1.21.0",
            NOTES,
            None,
            Some("✨ client_golang v1.21.0 adds exponential backoff for CAS operations on floats!"),
        );
        assert_eq!(
            led.headline,
            "Add exponential backoff for CAS operations on floats"
        );
        assert_eq!(
            led.changes[0],
            "Api: Add ability to CloseIdleConnection for one-off httpClient use cases"
        );
        // A lead that names nothing in the notes changes nothing.
        let unled = ReleaseImage::led_by("p", "v1", NOTES, None, Some("Big news today"));
        assert_eq!(unled, ReleaseImage::from_notes("p", "v1", NOTES, None));
    }

    #[test]
    fn the_png_is_1200_by_630_and_the_same_card_gives_the_same_bytes() {
        let png = render(&image());
        let (size, pixels) = decode(&png);
        assert_eq!(size, (1200, 630));
        assert_eq!(
            pixels.len(),
            630 * (1 + 1200 * 3),
            "every row, unfiltered RGB"
        );
        // The background is Obsidian, and the text is drawn in neon somewhere.
        assert_eq!(&pixels[1 + 600 * 3..1 + 600 * 3 + 3], &OBSIDIAN);
        assert!(pixels.chunks(3).any(|p| p == NEON));
        assert_eq!(png, render(&image()), "deterministic");
        let mut other = image();
        other.headline = "Something else entirely".into();
        assert_ne!(png, render(&other), "the text is drawn");
    }

    /// A PNG read back by the book: the signature, each chunk's CRC, IHDR's size, and
    /// the inflated scanlines.
    fn decode(png: &[u8]) -> ((u32, u32), Vec<u8>) {
        use std::io::Read as _;
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let mut at = 8;
        let (mut size, mut idat) = ((0, 0), Vec::new());
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut h = crc32fast::Hasher::new();
            h.update(kind);
            h.update(data);
            assert_eq!(h.finalize(), crc, "{}", String::from_utf8_lossy(kind));
            match kind {
                b"IHDR" => {
                    size = (
                        u32::from_be_bytes(data[..4].try_into().unwrap()),
                        u32::from_be_bytes(data[4..8].try_into().unwrap()),
                    );
                    assert_eq!(&data[8..], &[8, 2, 0, 0, 0]);
                }
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => assert_eq!(at + 12, png.len(), "IEND is last"),
                _ => {}
            }
            at += 12 + len;
        }
        let mut pixels = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut pixels)
            .unwrap();
        (size, pixels)
    }

    #[test]
    fn long_or_foreign_text_is_wrapped_cut_and_never_panics() {
        let long = ReleaseImage {
            project: "a-very-long-project-name-that-goes-on".into(),
            version: "v10.20.30-rc.1+build.7".into(),
            headline: "word ".repeat(80),
            changes: vec!["✨ 🐛 emoji — and “quotes” … é ß ø".into(); 9],
            link: Some("x".repeat(300)),
        };
        let png = render(&long);
        assert!(png.starts_with(b"\x89PNG"));
        let lines = wrap(&long.headline, 30, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with("..."), "{lines:?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        let kept: String = glyphs("✨ “quotes” … é").collect();
        assert_eq!(kept, " \"quotes\" . é");
    }
}
