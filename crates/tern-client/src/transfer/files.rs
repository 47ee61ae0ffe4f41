//! Getting a file ready to send: a private copy in the account's folder (so the upload survives
//! the original being moved or edited, and an app restart), its SHA-256, a media type, and for
//! images their size (as displayed, after the EXIF orientation) and a small JPEG thumbnail.
//! Location metadata is left out of the copy unless the caller keeps it ([`super::location`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};
use tern_proto::Attachment;

use crate::error::{Error, Result};

/// Longest side of a thumbnail (pixels) and the largest one kept (bytes of base64).
const THUMB_SIDE: u32 = 64;
const MAX_THUMB_B64: usize = 12 * 1024;

/// A file staged for upload.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The descriptor to send (its `blob_id` is filled in once uploaded).
    pub attachment: Attachment,
    /// The private copy that is uploaded.
    pub staged: PathBuf,
}

/// A media type from a file name's extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("txt" | "md" | "log") => "text/plain",
        Some("mp3") => "audio/mpeg",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// Bytes as lowercase hex (how hashes travel).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Width, height and a base64 JPEG thumbnail of an image file, when it decodes.
fn image_facts(path: &Path) -> Option<(u32, u32, Option<String>)> {
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    let orientation = decoder.orientation().ok()?;
    let mut img = image::DynamicImage::from_decoder(decoder).ok()?;
    // Sizes and thumbnail as a viewer shows the picture: a portrait photo stored sideways
    // with an orientation tag is taller than wide.
    img.apply_orientation(orientation);
    let (w, h) = (img.width(), img.height());
    let thumb = img.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut jpeg = Vec::new();
    let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 60)
        .encode_image(&thumb)
        .ok()
        .map(|()| base64::engine::general_purpose::STANDARD.encode(&jpeg))
        .filter(|b| b.len() <= MAX_THUMB_B64);
    Some((w, h, encoded))
}

/// Stage `src` under `dir` as `name_in_dir` (plus the file's extension, so that the copy
/// opens as what it is) and describe it, named `named` or else by its own file name (whose
/// extension gives its type, as the recipients will see it).
pub fn prepare(
    src: &Path,
    dir: &Path,
    name_in_dir: &str,
    named: Option<&str>,
    strip_location: bool,
) -> Result<Prepared> {
    let meta = std::fs::metadata(src)?;
    if !meta.is_file() {
        return Err(Error::Invalid(if meta.is_dir() {
            "it is a folder, and only files can be sent".into()
        } else {
            "it is not a file that can be sent".into()
        }));
    }
    let name = named
        .or_else(|| src.file_name().and_then(|n| n.to_str()))
        .filter(|n| !n.is_empty())
        .unwrap_or("file")
        .to_owned();
    crate::private_fs::create_dir(dir)?;
    let staged = dir.join(format!("{name_in_dir}{}", extension(&name)));
    let kind = content_type(&name);
    if strip_location && super::location::applies_to(kind) {
        let bytes = std::fs::read(src)?;
        let mut out = std::fs::File::create(&staged)?;
        out.write_all(&super::location::strip(kind, &bytes))?;
        out.sync_all()?;
    } else {
        std::fs::copy(src, &staged)?;
    }
    let size = std::fs::metadata(&staged)?.len();
    if size == 0 {
        let _ = std::fs::remove_file(&staged);
        return Err(Error::Invalid("an empty file cannot be sent".into()));
    }
    let (width, height, thumbnail) = if kind.starts_with("image/") {
        image_facts(&staged)
            .map(|(w, h, t)| (Some(w), Some(h), t))
            .unwrap_or((None, None, None))
    } else {
        (None, None, None)
    };
    Ok(Prepared {
        attachment: Attachment {
            blob_id: String::new(),
            name,
            content_type: kind.to_owned(),
            size,
            sha256: sha256_file(&staged)?,
            width,
            height,
            thumbnail,
        },
        staged,
    })
}

/// The extension of file name `name` with its dot (`.pdf`), when it is a plain one (up to 16
/// ASCII letters and digits); else nothing.
pub fn extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if dot > 0 => {
            let ext = &name[dot + 1..];
            let plain = !ext.is_empty()
                && ext.len() <= 16
                && ext.chars().all(|c| c.is_ascii_alphanumeric());
            if plain {
                &name[dot..]
            } else {
                ""
            }
        }
        _ => "",
    }
}

/// SHA-256 of a downloaded file (checked against the descriptor).
pub fn verify(path: &Path, sha256: &str) -> Result<bool> {
    Ok(sha256_file(path)?.eq_ignore_ascii_case(sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_gets_its_size_and_a_thumbnail_and_other_files_a_plain_type() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("photo.png");
        image::RgbImage::from_pixel(300, 200, image::Rgb([200, 30, 30]))
            .save(&src)
            .unwrap();
        let p = prepare(&src, &dir.path().join("out"), "c1", None, true).unwrap();
        // The staged copy keeps the extension, so it opens as what it is.
        assert_eq!(p.staged.file_name().unwrap(), "c1.png");
        let a = p.attachment;
        assert_eq!((a.width, a.height), (Some(300), Some(200)));
        assert_eq!(a.content_type, "image/png");
        assert!(a.thumbnail.is_some());
        assert!(verify(&p.staged, &a.sha256).unwrap());
        assert_eq!(content_type("notes.TXT"), "text/plain");
        assert_eq!(content_type("evil.html"), "application/octet-stream");

        // Sent again under its name (forwarding this device's own copy): the name, not the
        // path, says what it is.
        let again = prepare(
            &p.staged,
            &dir.path().join("out"),
            "c2",
            Some("photo.png"),
            true,
        )
        .unwrap();
        assert_eq!(again.staged.file_name().unwrap(), "c2.png");
        assert_eq!(again.attachment.name, "photo.png");
        assert_eq!(again.attachment.content_type, "image/png");
        assert!(again.attachment.thumbnail.is_some());
    }

    #[test]
    fn an_extension_is_a_plain_one_after_the_last_dot() {
        assert_eq!(extension("report.final.PDF"), ".PDF");
        assert_eq!(extension("archive.tar.gz"), ".gz");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("no-extension"), "");
        assert_eq!(extension("odd.p df"), "");
        assert_eq!(extension("x."), "");
    }
}
