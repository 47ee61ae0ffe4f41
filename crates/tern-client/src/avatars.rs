//! Profile and group pictures.
//!
//! Setting one needs the relay (offline it fails with [`Error::Offline`], like a display
//! name): the chosen image is decoded, turned upright by its EXIF orientation, cropped to the
//! centre square and scaled to [`SIDE`] pixels, then encoded afresh as a JPEG, so no metadata
//! of the original (location included) survives. The result is uploaded through the same
//! transfer protocol as attachments and named in a `set_avatar` request. The new picture comes
//! back to every device and member as a changed conversation, so nothing is written to the
//! cache here.
//!
//! Showing one: [`Client::avatar_file`] downloads a picture once into the account's
//! `avatars/` folder, named by its SHA-256 (so a picture shared by many conversations is
//! fetched once), and checks the bytes against it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tern_proto::{ClientFrame, ConversationId, Picture, ServerFrame, SetAvatar};

use crate::accounts::account_dir;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transfer::files::hex;
use crate::transfer::relay;

/// Side of a picture as uploaded (pixels); clients show it at 28–96 px on screens up to 3×.
pub const SIDE: u32 = 384;
/// JPEG quality of an uploaded picture.
const QUALITY: u8 = 85;

/// Why a file cannot be a picture, as the user reads it.
const UNREADABLE: &str = "That file isn't a picture Tern can read (JPEG, PNG, GIF or WebP).";

/// A square JPEG of side [`SIDE`] (or the image's shorter side, if smaller) made from the
/// image file at `src`, upright, with nothing of the original's metadata.
pub fn square_jpeg(src: &Path) -> Result<Vec<u8>> {
    use image::ImageDecoder;
    // Said to the user in plain words; what the decoder said goes to the log.
    let unreadable = |e: &dyn std::fmt::Display| {
        tracing::debug!(error = %e, "a picture could not be read");
        Error::Invalid(UNREADABLE.into())
    };
    let mut decoder = image::ImageReader::open(src)?
        .with_guessed_format()?
        .into_decoder()
        .map_err(|e| unreadable(&e))?;
    let orientation = decoder.orientation().map_err(|e| unreadable(&e))?;
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| unreadable(&e))?;
    img.apply_orientation(orientation);
    let side = img.width().min(img.height());
    if side == 0 {
        return Err(Error::Invalid(UNREADABLE.into()));
    }
    let square = img.crop_imm(
        (img.width() - side) / 2,
        (img.height() - side) / 2,
        side,
        side,
    );
    let scaled = if side > SIDE {
        square.resize_exact(SIDE, SIDE, image::imageops::FilterType::Lanczos3)
    } else {
        square
    };
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&scaled.to_rgb8())
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(jpeg)
}

impl Client {
    /// Set the user's picture from the image at `path`; `None` removes it.
    pub async fn set_avatar(&self, path: Option<&Path>) -> Result<()> {
        self.store_avatar(None, path).await
    }

    /// Set a group's picture from the image at `path` (any member may); `None` removes it.
    pub async fn set_group_avatar(&self, conv: ConversationId, path: Option<&Path>) -> Result<()> {
        self.store_avatar(Some(conv), path).await
    }

    async fn store_avatar(&self, conv: Option<ConversationId>, path: Option<&Path>) -> Result<()> {
        let avatar = match path {
            Some(path) => Some(self.upload_picture(path).await?),
            None => None,
        };
        match self
            .request(move |id| {
                ClientFrame::SetAvatar(SetAvatar {
                    id,
                    conversation_id: conv,
                    avatar,
                })
            })
            .await?
        {
            ServerFrame::Ok { .. } => Ok(()),
            other => Err(Error::Internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// Make the square JPEG, keep a copy where [`Client::avatar_file`] looks, upload it.
    async fn upload_picture(&self, path: &Path) -> Result<Picture> {
        let src = path.to_owned();
        let jpeg = tokio::task::spawn_blocking(move || square_jpeg(&src))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let sha256 = hex(&Sha256::digest(&jpeg));
        let (config, token) = (&self.shared.config, &self.shared.token);
        let size = jpeg.len() as u64;
        let blob_id = relay::create(config, token, size, &sha256, "image/jpeg").await?;
        let (done, complete) = relay::append(config, token, &blob_id, 0, jpeg.clone()).await?;
        if !complete || done != size {
            return Err(Error::Internal(format!(
                "the relay holds {done} of {size} bytes of the picture"
            )));
        }
        let picture = Picture {
            blob_id,
            content_type: "image/jpeg".into(),
            size,
            sha256,
        };
        let local = self.avatar_path(&picture)?;
        crate::private_fs::create_dir(local.parent().expect("a folder"))?;
        tokio::fs::write(&local, &jpeg).await?;
        Ok(picture)
    }

    /// Where a picture is kept on this device: `avatars/<sha256>.<ext>` in the account folder.
    fn avatar_path(&self, p: &Picture) -> Result<PathBuf> {
        let ext = match p.content_type.as_str() {
            "image/png" => "png",
            "image/webp" => "webp",
            _ => "jpg",
        };
        if !tern_proto::is_sha256_hex(&p.sha256) {
            return Err(Error::Invalid("the picture has an invalid hash".into()));
        }
        Ok(account_dir(&self.shared.config, self.shared.user_id)
            .join("avatars")
            .join(format!("{}.{ext}", p.sha256.to_ascii_lowercase())))
    }

    /// The picture's file on this device, downloaded first if needed and checked against its
    /// SHA-256. Pictures are small (at most [`tern_proto::MAX_PICTURE_BYTES`]), so a download
    /// is not resumed: an interrupted one starts again.
    pub async fn avatar_file(&self, picture: &Picture) -> Result<PathBuf> {
        let target = self.avatar_path(picture)?;
        if tokio::fs::try_exists(&target).await? {
            return Ok(target);
        }
        if !tern_proto::is_blob_id(&picture.blob_id) {
            return Err(Error::Invalid("the picture has an invalid id".into()));
        }
        if picture.size > tern_proto::MAX_PICTURE_BYTES {
            return Err(Error::Invalid("the picture is too large".into()));
        }
        // Two rows showing the same picture ask for it at once: one fetches, the other
        // then finds the file.
        let _one = self.shared.fetches.lock(&picture.blob_id).await;
        if tokio::fs::try_exists(&target).await? {
            return Ok(target);
        }
        self.shared.check_open()?;
        let dir = target.parent().expect("a folder").to_owned();
        crate::private_fs::create_dir(&dir)?;
        let partial = dir.join(format!("{}.part", picture.blob_id));
        let mut file = tokio::fs::File::create(&partial).await?;
        let (config, token) = (&self.shared.config, &self.shared.token);
        let fetched = relay::download(config, token, &picture.blob_id, 0, &mut file, |_| {}).await;
        drop(file);
        if let Err(e) = fetched.and_then(|_| self.shared.check_open()) {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
        let bytes = tokio::fs::read(&partial).await?;
        if !hex(&Sha256::digest(&bytes)).eq_ignore_ascii_case(&picture.sha256) {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(Error::Invalid(
                "the downloaded picture does not match what was set".into(),
            ));
        }
        tokio::fs::rename(&partial, &target).await?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_becomes_an_upright_centre_square_of_bounded_side() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("wide.png");
        // 1000×600: red left third, green middle, blue right third.
        let img = image::RgbImage::from_fn(1000, 600, |x, _| match x {
            0..=332 => image::Rgb([255, 0, 0]),
            333..=665 => image::Rgb([0, 255, 0]),
            _ => image::Rgb([0, 0, 255]),
        });
        img.save(&src).unwrap();
        let jpeg = square_jpeg(&src).unwrap();
        let out = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(out.dimensions(), (SIDE, SIDE));
        let centre = out.get_pixel(SIDE / 2, SIDE / 2);
        assert!(
            centre[1] > 200 && centre[0] < 60,
            "the centre is kept: {centre:?}"
        );

        let small = dir.path().join("small.png");
        image::RgbImage::from_pixel(50, 80, image::Rgb([9, 9, 9]))
            .save(&small)
            .unwrap();
        let out = image::load_from_memory(&square_jpeg(&small).unwrap()).unwrap();
        assert_eq!((out.width(), out.height()), (50, 50), "never scaled up");

        let text = dir.path().join("notes.png");
        std::fs::write(&text, b"not an image").unwrap();
        assert!(matches!(square_jpeg(&text), Err(Error::Invalid(_))));
    }
}
