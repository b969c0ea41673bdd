//! Photos for the tests: pictures in each accepted format, a phone photo
//! with GPS EXIF and an orientation, a decompression bomb, an oversized
//! upload over a raw connection, and a report that carries a photo.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::Value;

/// Uploads a photo to the server at `base` and files a report with it:
/// the issue's id and the photo as the issue lists it.
pub async fn report_with_photo(client: &reqwest::Client, base: &str, seed: u8) -> (i64, Value) {
    let upload: Value = client
        .post(format!("{base}/api/v1/photos"))
        .header("content-type", "image/jpeg")
        .body(jpeg(48, 32, seed))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut body = crate::report_body(76.944, 43.262, "pothole", "A pothole with a photo");
    body["properties"]["photos"] = serde_json::json!([upload["id"]]);
    let (status, created) = crate::post_report(client, base, &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (_, issue) = crate::get_json(client, &format!("{base}/api/v1/issues/{id}")).await;
    (id, issue["properties"]["photos"][0].clone())
}

pub fn encoded(picture: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut out), format)
        .unwrap();
    out
}

/// A `width` × `height` picture, different for each `seed` (so that two
/// photos are two files).
pub fn picture(width: u32, height: u32, seed: u8) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, seed])
    }))
}

pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    encoded(picture(width, height, seed), ImageFormat::Jpeg)
}

/// A JPEG whose EXIF says: rotate 90° clockwise to view (orientation 6),
/// taken at 43.2611 N, 76.9412 E: what a phone writes.
pub fn jpeg_with_gps_exif(width: u32, height: u32) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value as V};
    let plain = jpeg(width, height, 1);
    let degrees = |d: u32, m: u32, s100: u32| {
        V::Rational(vec![
            Rational { num: d, denom: 1 },
            Rational { num: m, denom: 1 },
            Rational {
                num: s100,
                denom: 100,
            },
        ])
    };
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: V::Short(vec![6]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: V::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: degrees(43, 15, 4000),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: V::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: degrees(76, 56, 2832),
        },
    ];
    let mut writer = exif::experimental::Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff.into_inner());
    // APP1 right after the start-of-image marker.
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend(payload);
    out.extend(&plain[2..]);
    out
}

pub fn exif_of(bytes: &[u8]) -> Result<exif::Exif, exif::Error> {
    exif::Reader::new().read_from_container(&mut Cursor::new(bytes))
}

/// A valid PNG that declares 60000 × 60000 RGBA pixels (14 GB decoded)
/// in a few hundred bytes.
pub fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend(60_000_u32.to_be_bytes());
    header.extend(60_000_u32.to_be_bytes());
    header.extend([8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut zlib, &[0; 4096]).unwrap();
    chunk(&mut out, b"IDAT", &zlib.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// POSTs `size` bytes of a would-be JPEG over a raw connection, writing
/// on while the server reads, and returns the answer's status and head: a
/// client library may report the connection the server closes after its
/// early `413` instead of the answer.
pub async fn post_oversized(app: &crate::TestApp, size: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/v1/photos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: {size}\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let writing = tokio::spawn(async move {
        let mut chunk = vec![0_u8; 64 << 10];
        chunk[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        let mut sent = 0;
        while sent < size {
            let n = chunk.len().min(size - sent);
            if writer.write_all(&chunk[..n]).await.is_err() {
                break;
            }
            sent += n;
        }
        writer
    });
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    writing.abort();
    let head = String::from_utf8_lossy(&answer).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head)
}
