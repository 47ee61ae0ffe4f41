//! The tray icon's unread badge, drawn on the icon itself (pure; unit-tested): a red disc in
//! the top-right corner holding the count, "1" to "9", then "9+", as messengers show it where a
//! tray host shows no tooltip (GNOME's AppIndicator extension shows none). The digits are a
//! 3×5 pixel font scaled up, white on the disc; the disc's edge is anti-aliased.

/// What the badge says for `unread` messages: nothing for none, the number up to 9, then "9+".
pub fn label(unread: u64) -> Option<String> {
    match unread {
        0 => None,
        1..=9 => Some(unread.to_string()),
        _ => Some("9+".to_owned()),
    }
}

/// Each glyph as five rows of three pixels (most significant bit on the left).
const GLYPHS: [(char, [u8; 5]); 11] = [
    ('0', [0b111, 0b101, 0b101, 0b101, 0b111]),
    ('1', [0b010, 0b110, 0b010, 0b010, 0b111]),
    ('2', [0b111, 0b001, 0b111, 0b100, 0b111]),
    ('3', [0b111, 0b001, 0b111, 0b001, 0b111]),
    ('4', [0b101, 0b101, 0b111, 0b001, 0b001]),
    ('5', [0b111, 0b100, 0b111, 0b001, 0b111]),
    ('6', [0b111, 0b100, 0b111, 0b101, 0b111]),
    ('7', [0b111, 0b001, 0b001, 0b001, 0b001]),
    ('8', [0b111, 0b101, 0b111, 0b101, 0b111]),
    ('9', [0b111, 0b101, 0b111, 0b001, 0b111]),
    ('+', [0b000, 0b010, 0b111, 0b010, 0b000]),
];

/// The disc's colour (opaque red) and the digits' (white).
const DISC: [u8; 3] = [0xd9, 0x2d, 0x20];
const INK: [u8; 3] = [0xff, 0xff, 0xff];

/// `base` (straight RGBA, `size`×`size`) with a badge saying `text` (characters of
/// the badge font: digits and "+"); the input is left as it is.
pub fn draw(base: &[u8], size: u32, text: &str) -> Vec<u8> {
    assert_eq!(base.len(), (size * size * 4) as usize, "RGBA of size×size");
    let mut out = base.to_vec();
    let s = size as f32;
    let r = s * 0.3;
    let (cx, cy) = (s - r - 0.5, r + 0.5);
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let cover = (r + 0.5 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
            if cover > 0.0 {
                blend(&mut out, size, x, y, DISC, cover);
            }
        }
    }
    let glyphs: Vec<[u8; 5]> = text
        .chars()
        .filter_map(|c| GLYPHS.iter().find(|(g, _)| *g == c).map(|(_, rows)| *rows))
        .collect();
    if glyphs.is_empty() {
        return out;
    }
    // One glyph large, two smaller, so that they fit inside the disc.
    let scale = if glyphs.len() == 1 {
        (size / 16).max(1)
    } else {
        (size * 3 / 64).max(1)
    };
    let width = (glyphs.len() as u32 * 4 - 1) * scale;
    let height = 5 * scale;
    let left = (cx - width as f32 / 2.0).round() as u32;
    let top = (cy - height as f32 / 2.0).round() as u32;
    for (i, rows) in glyphs.iter().enumerate() {
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..3u32 {
                if bits & (0b100 >> col) == 0 {
                    continue;
                }
                let x0 = left + (i as u32 * 4 + col) * scale;
                let y0 = top + row as u32 * scale;
                for y in y0..(y0 + scale).min(size) {
                    for x in x0..(x0 + scale).min(size) {
                        blend(&mut out, size, x, y, INK, 1.0);
                    }
                }
            }
        }
    }
    out
}

/// Paint `colour` over the pixel at (`x`, `y`) with coverage `a` (straight alpha).
fn blend(rgba: &mut [u8], size: u32, x: u32, y: u32, colour: [u8; 3], a: f32) {
    let i = ((y * size + x) * 4) as usize;
    let under = rgba[i + 3] as f32 / 255.0;
    let alpha = a + under * (1.0 - a);
    for c in 0..3 {
        let mixed = colour[c] as f32 * a + rgba[i + c] as f32 * under * (1.0 - a);
        rgba[i + c] = (mixed / alpha.max(f32::EPSILON)).round().clamp(0.0, 255.0) as u8;
    }
    rgba[i + 3] = (alpha * 255.0).round() as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u32 = 64;

    fn blank() -> Vec<u8> {
        vec![0; (SIZE * SIZE * 4) as usize]
    }

    fn pixel(rgba: &[u8], x: u32, y: u32) -> [u8; 4] {
        let i = ((y * SIZE + x) * 4) as usize;
        [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
    }

    /// The white pixels, as (x, y).
    fn ink(rgba: &[u8]) -> Vec<(u32, u32)> {
        (0..SIZE)
            .flat_map(|y| (0..SIZE).map(move |x| (x, y)))
            .filter(|&(x, y)| pixel(rgba, x, y) == [255, 255, 255, 255])
            .collect()
    }

    #[test]
    fn the_count_reads_one_to_nine_then_nine_plus() {
        assert_eq!(label(0), None);
        assert_eq!(label(1).as_deref(), Some("1"));
        assert_eq!(label(9).as_deref(), Some("9"));
        assert_eq!(label(10).as_deref(), Some("9+"));
        assert_eq!(label(2001).as_deref(), Some("9+"));
    }

    #[test]
    fn the_badge_is_a_red_disc_top_right_with_white_digits_inside_it() {
        let base = blank();
        let one = draw(&base, SIZE, "1");
        // The corner away from the badge is untouched; the disc is opaque red around its digit.
        assert_eq!(pixel(&one, 2, 60), [0, 0, 0, 0]);
        assert_eq!(pixel(&one, 44, 3), [0xd9, 0x2d, 0x20, 255]);
        let digit = ink(&one);
        assert!(!digit.is_empty(), "the digit is drawn");
        let (cx, cy, r) = (SIZE as f32 - 19.7, 19.7, 19.2);
        for &(x, y) in &digit {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            assert!((dx * dx + dy * dy).sqrt() < r, "({x}, {y}) inside the disc");
        }
        // Every count draws differently, and "9+" is wider than "9".
        let drawn: Vec<Vec<(u32, u32)>> = (1..=9)
            .map(|n| ink(&draw(&base, SIZE, &n.to_string())))
            .collect();
        for (i, a) in drawn.iter().enumerate() {
            for b in &drawn[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let span = |px: &[(u32, u32)]| {
            px.iter().map(|p| p.0).max().unwrap() - px.iter().map(|p| p.0).min().unwrap()
        };
        let plus = ink(&draw(&base, SIZE, "9+"));
        assert!(span(&plus) > span(&drawn[8]));
        for &(x, y) in &plus {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            assert!(
                (dx * dx + dy * dy).sqrt() < r,
                "({x}, {y}) of 9+ inside the disc"
            );
        }
    }

    #[test]
    fn the_icon_under_the_badge_shows_through_at_its_edge_and_elsewhere() {
        let mut base = blank();
        for px in base.chunks_mut(4) {
            px.copy_from_slice(&[0, 0x60, 0xff, 255]);
        }
        let out = draw(&base, SIZE, "3");
        assert_eq!(
            pixel(&out, 5, 5),
            [0, 0x60, 0xff, 255],
            "far from the badge"
        );
        // Some pixel on the disc's rim is a mix of the two colours.
        let mixed = (0..SIZE).any(|x| {
            let p = pixel(&out, x, 20);
            p[0] > 0 && p[0] < 0xd9 && p[3] == 255
        });
        assert!(mixed, "an anti-aliased edge");
    }
}
