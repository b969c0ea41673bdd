//! `qala-basemap-fixture OUT.mbtiles|OUT.pmtiles`: writes the basemap tests'
//! small vector archive (streets over central Almaty, Protomaps schema), for
//! the browser test (web/tests/basemap.test.mjs) to start `qala serve
//! --basemap` with. Test support only: not part of the product.
#![allow(clippy::expect_used)]

use qala_tests::basemap::{Tiles, write_mbtiles, write_pmtiles};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(out) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: qala-basemap-fixture OUT.mbtiles|OUT.pmtiles");
        std::process::exit(2);
    };
    if out.exists() {
        std::fs::remove_file(&out).expect("remove the old archive");
    }
    if out.extension().is_some_and(|e| e == "pmtiles") {
        write_pmtiles(&out, Tiles::Vector);
    } else {
        write_mbtiles(&out, Tiles::Vector).await;
    }
    println!("{}", out.display());
}
