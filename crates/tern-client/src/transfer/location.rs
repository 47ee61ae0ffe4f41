//! Taking the place a photo was taken out of it before it leaves the device.
//!
//! Cameras and phones write GPS coordinates into a JPEG's EXIF block (and editors often copy
//! them into XMP); PNG files can carry the same EXIF in an `eXIf` chunk and XMP in an `iTXt`
//! chunk. Stripping removes all of those blocks whole, byte-exactly everywhere else, so the
//! picture itself is never re-encoded. The one EXIF field a viewer needs, the orientation, is
//! written back as a minimal EXIF block, so a portrait phone photo does not arrive sideways.
//! Bytes that do not parse as the format they claim come back unchanged.

/// The JPEG APP1 identifier of an EXIF block and of an XMP block.
const EXIF_ID: &[u8] = b"Exif\0\0";
const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The EXIF tag holding the orientation (a SHORT, 1 = as stored).
const ORIENTATION_TAG: u16 = 0x0112;

/// `bytes` without location metadata, by content type (JPEG and PNG; others unchanged).
pub fn strip(content_type: &str, bytes: &[u8]) -> Vec<u8> {
    match content_type {
        "image/jpeg" => strip_jpeg(bytes),
        "image/png" => strip_png(bytes),
        _ => bytes.to_vec(),
    }
}

/// Whether stripping can change a file of this type (only those are read into memory).
pub fn applies_to(content_type: &str) -> bool {
    matches!(content_type, "image/jpeg" | "image/png")
}

/// A JPEG without EXIF and XMP segments; when the EXIF block had an orientation other than 1,
/// a minimal EXIF block carrying just that orientation takes its place.
pub fn strip_jpeg(jpeg: &[u8]) -> Vec<u8> {
    if !jpeg.starts_with(&[0xff, 0xd8]) {
        return jpeg.to_vec();
    }
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&jpeg[..2]);
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xff {
        let marker = jpeg[i + 1];
        // Start of scan: the rest is image data.
        if marker == 0xda {
            break;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if len < 2 || i + 2 + len > jpeg.len() {
            return jpeg.to_vec();
        }
        let segment = &jpeg[i..i + 2 + len];
        let payload = &segment[4..];
        if marker == 0xe1 && payload.starts_with(EXIF_ID) {
            if let Some(o) = orientation(&payload[EXIF_ID.len()..]).filter(|&o| o != 1) {
                out.extend_from_slice(&orientation_segment(o));
            }
        } else if !(marker == 0xe1 && payload.starts_with(XMP_ID)) {
            out.extend_from_slice(segment);
        }
        i += 2 + len;
    }
    out.extend_from_slice(&jpeg[i..]);
    out
}

/// The orientation in a TIFF-structured EXIF block (IFD0's tag 0x0112), if present and sane.
fn orientation(tiff: &[u8]) -> Option<u16> {
    let big = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    (0..count.min(512))
        .map(|k| ifd + 2 + 12 * k)
        .find(|&entry| u16_at(entry) == Some(ORIENTATION_TAG))
        .and_then(|entry| u16_at(entry + 8))
        .filter(|o| (1..=8).contains(o))
}

/// An APP1 segment holding a big-endian EXIF block with one entry: the orientation.
fn orientation_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::with_capacity(26);
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // header, IFD0 at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&ORIENTATION_TAG.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count 1
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let len = (2 + EXIF_ID.len() + tiff.len()) as u16;
    let mut segment = vec![0xff, 0xe1];
    segment.extend_from_slice(&len.to_be_bytes());
    segment.extend_from_slice(EXIF_ID);
    segment.extend_from_slice(&tiff);
    segment
}

/// A PNG without `eXIf` chunks and without XMP (`iTXt` keyed `XML:com.adobe.xmp`). Chunks are
/// dropped whole, so every other chunk keeps its CRC.
pub fn strip_png(png: &[u8]) -> Vec<u8> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !png.starts_with(SIGNATURE) {
        return png.to_vec();
    }
    let mut out = Vec::with_capacity(png.len());
    out.extend_from_slice(SIGNATURE);
    let mut i = SIGNATURE.len();
    while i + 12 <= png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().expect("4 bytes")) as usize;
        let Some(end) = (i + 12).checked_add(len).filter(|&e| e <= png.len()) else {
            return png.to_vec();
        };
        let kind = &png[i + 4..i + 8];
        let data = &png[i + 8..i + 8 + len];
        let location =
            kind == b"eXIf" || (kind == b"iTXt" && data.starts_with(b"XML:com.adobe.xmp\0"));
        if !location {
            out.extend_from_slice(&png[i..end]);
        }
        i = end;
    }
    out.extend_from_slice(&png[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An EXIF APP1 segment: little-endian TIFF, IFD0 with a GPS pointer and an orientation.
    fn exif_segment(orientation: u16) -> Vec<u8> {
        let mut tiff = b"II\x2a\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&2u16.to_le_bytes());
        // GPSInfo pointer (tag 0x8825, LONG) to a made-up GPS IFD after this one.
        tiff.extend_from_slice(&0x8825u16.to_le_bytes());
        tiff.extend_from_slice(&4u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&38u32.to_le_bytes());
        tiff.extend_from_slice(&ORIENTATION_TAG.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(b"GPS 48.8584N 2.2945E");
        let mut seg = vec![0xff, 0xe1];
        seg.extend_from_slice(&((2 + EXIF_ID.len() + tiff.len()) as u16).to_be_bytes());
        seg.extend_from_slice(EXIF_ID);
        seg.extend_from_slice(&tiff);
        seg
    }

    fn xmp_segment() -> Vec<u8> {
        let body = [XMP_ID, b"<x:xmpmeta exif:GPSLatitude='48,51N'/>"].concat();
        let mut seg = vec![0xff, 0xe1];
        seg.extend_from_slice(&((2 + body.len()) as u16).to_be_bytes());
        seg.extend_from_slice(&body);
        seg
    }

    const JFIF: [u8; 8] = [0xff, 0xe0, 0x00, 0x06, b'J', b'F', b'I', b'F'];
    const SCAN: [u8; 8] = [0xff, 0xda, 0x00, 0x02, 9, 9, 0xff, 0xd9];

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn location_leaves_a_jpeg_and_everything_else_is_kept() {
        let jpeg = [
            &[0xff, 0xd8][..],
            &JFIF,
            &exif_segment(1),
            &xmp_segment(),
            &SCAN,
        ]
        .concat();
        let clean = strip("image/jpeg", &jpeg);
        assert_eq!(clean, [&[0xff, 0xd8][..], &JFIF, &SCAN].concat());
        assert!(!contains(&clean, b"GPS"));
    }

    #[test]
    fn a_turned_photo_keeps_its_orientation_and_nothing_more() {
        let jpeg = [&[0xff, 0xd8][..], &JFIF, &exif_segment(6), &SCAN].concat();
        let clean = strip_jpeg(&jpeg);
        assert!(!contains(&clean, b"GPS"), "the location went");
        let exif_at = 2 + JFIF.len();
        let seg = &clean[exif_at..clean.len() - SCAN.len()];
        assert_eq!(orientation(&seg[4 + EXIF_ID.len()..]), Some(6));
        assert_eq!(&clean[..exif_at], &jpeg[..exif_at]);
        assert!(clean.ends_with(&SCAN));
    }

    #[test]
    fn location_leaves_a_png_and_other_chunks_keep_their_bytes() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[1, 2, 3, 4]); // CRC, kept as is
            c
        };
        let ihdr = chunk(b"IHDR", &[0; 13]);
        let text = chunk(b"tEXt", b"Comment\0hello");
        let end = chunk(b"IEND", &[]);
        let png = [
            &b"\x89PNG\r\n\x1a\n"[..],
            &ihdr,
            &chunk(b"eXIf", b"MM\0\x2aGPS"),
            &chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0GPS"),
            &text,
            &end,
        ]
        .concat();
        let clean = strip("image/png", &png);
        assert_eq!(
            clean,
            [&b"\x89PNG\r\n\x1a\n"[..], &ihdr, &text, &end].concat()
        );
    }

    #[test]
    fn what_does_not_parse_comes_back_unchanged() {
        assert_eq!(strip("image/jpeg", b"not a jpeg"), b"not a jpeg");
        assert_eq!(
            strip("image/png", b"\x89PNG\r\n\x1a\n\0\0\xff\xffIDAT"),
            b"\x89PNG\r\n\x1a\n\0\0\xff\xffIDAT"
        );
        assert_eq!(strip("application/pdf", b"%PDF GPS"), b"%PDF GPS");
        assert!(!applies_to("image/gif"));
    }
}
