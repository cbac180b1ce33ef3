//! Rebuilds the crate when a migration changes: they are embedded with `include_str!`, which
//! Cargo tracks per file, but a *new* file in `migrations/` would otherwise go unnoticed.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
