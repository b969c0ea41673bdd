//! Qala's server: the HTTP API over the geodata core, the CLI, city folders and the demo.
//!
//! [`app`] builds the whole HTTP application from an [`AppState`]; the `qala`
//! binary and the end-to-end tests share it.

pub mod auth;
pub mod basemap;
pub mod city;
pub mod cli;
pub mod client_addr;
pub mod demo;
pub mod error;
pub mod export;
pub mod feeds;
pub mod import;
pub mod issue_cache;
pub mod limits;
pub mod listener;
pub mod live;
pub mod mail;
pub mod media;
pub mod pages;
pub mod params;
pub mod password;
pub mod progress;
pub mod public_url;
pub mod recent_reports;
pub mod routes;
pub mod state;
pub mod sync;
pub mod throttle;
pub mod tiling;

pub use routes::app;
pub use state::{AppState, ServerConfig};
